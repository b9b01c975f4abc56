/**
 * The store's settings, read from the environment the way an app is configured: no workspace file, nothing but
 * variables, so switching the mode (legacy-only -> read-both-write-legacy -> dual-read -> new-only, see modes.ts) is a
 * config change, not a code change.
 *
 * The variables are STORE_VARIABLES below (also what `npm run photo-service -- --help` lists).
 *
 * Every problem is one ConfigError line naming the variable; no value of a key variable is ever echoed.
 */
import { ConfigError } from '../../../workspaces/errors';
import { codecSchema, type CodecConfig, type Encryption } from '../../../workspaces/schema';
import type { Credentials, Keys } from '../aws/credentials';
import { STORE_MODES, usesLegacy, usesNew, type StoreMode } from './modes';

export { STORE_MODES, type StoreMode };

/** Every variable the store reads, and what it means. */
export const STORE_VARIABLES: readonly (readonly [string, string])[] = [
  ['PHOTO_STORE_MODE', `${STORE_MODES.join(', ')} (required)`],
  ['PHOTO_STORE_BUCKET', 'the new bucket (all modes but legacy-only)'],
  ['PHOTO_STORE_LEGACY_BUCKET', 'the legacy bucket (all modes but new-only)'],
  ['AWS_REGION', "the new bucket's region (AWS_DEFAULT_REGION is read too)"],
  ['PHOTO_STORE_LEGACY_REGION', "the legacy bucket's region (default: AWS_REGION)"],
  ['PHOTO_STORE_ENDPOINT', 'an S3-compatible endpoint URL for the new side (path-style); unset on AWS'],
  ['PHOTO_STORE_LEGACY_ENDPOINT', 'the same for the legacy side'],
  ['AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN)', "the new side's keys"],
  ['LEGACY_AWS_ACCESS_KEY_ID, LEGACY_AWS_SECRET_ACCESS_KEY (LEGACY_AWS_SESSION_TOKEN)', "the legacy side's keys"],
  ['PHOTO_STORE_ENCRYPTION', 'SSE-S3 (default) or SSE-KMS: how `put` asks S3 to encrypt at rest'],
  ['PHOTO_STORE_KMS_KEY_ARN', 'the KMS key ARN, with SSE-KMS'],
  [
    'PHOTO_STORE_CODEC',
    'the legacy codec, as the workspace\'s `codec` JSON (default: Fernet, storage "auto": text and raw tokens alike, keys in LEGACY_FERNET_KEYS); its keys come from the variable (or secret) it names',
  ],
  ['LEGACY_FERNET_KEYS', 'the Fernet key(s), newest first, comma-separated (the variable the default codec names)'],
  ['PHOTO_STORE_COPY_ON_MISS', 'true: copy what a read fell back to into the new bucket (default false)'],
  [
    'PHOTO_STORE_TOMBSTONES',
    'new-only: true (default) leaves a tombstone on delete, which dual-read instances need; false deletes plainly, once the legacy bucket is gone',
  ],
  ['PHOTO_STORE_TIMEOUT_MS', 'time allowed for S3 to start answering a request (default 5000)'],
  ['PHOTO_STORE_MAX_ATTEMPTS', 'attempts per S3 request, the first included (default 3)'],
  [
    'PHOTO_STORE_HEARTBEAT_MS',
    "how often the store logs its heartbeat line (default 60000, from 100 to 900000): the audit's proof that the log covers its window",
  ],
];

export interface SideSettings {
  readonly bucket: string;
  readonly region: string;
  /** An S3-compatible endpoint (path-style, checksums only when required); undefined on AWS. */
  readonly endpoint?: string;
  /** Static keys from the environment, or (given to storeConfigFromEnv) a provider such as an assumed role's. */
  readonly credentials: Credentials;
}

export interface StoreConfig {
  readonly mode: StoreMode;
  /** The new bucket; absent in legacy-only. */
  readonly primary?: SideSettings;
  /** The legacy bucket and its codec; absent in new-only. */
  readonly legacy?: SideSettings & { readonly codec: CodecConfig };
  readonly encryption: Encryption;
  readonly copyOnMiss: boolean;
  /** new-only: deletes leave a tombstone (see modes.ts); default true. */
  readonly tombstones?: boolean;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** The heartbeat's interval (heartbeat.ts); default HEARTBEAT_DEFAULT_MS. */
  readonly heartbeatMs?: number;
}

/** The heartbeat's interval: one line a minute per process (7 days from 3 processes: 30,240 lines). */
export const HEARTBEAT_DEFAULT_MS = 60_000;
/** Longer than the audit's default --max-gap (15 min) would leave gaps the audit refuses. */
export const HEARTBEAT_MAX_MS = 900_000;

export const DEFAULT_CODEC = '{"type":"fernet","keys":{"env":"LEGACY_FERNET_KEYS"}}';

const VAR = {
  mode: 'PHOTO_STORE_MODE',
  bucket: 'PHOTO_STORE_BUCKET',
  legacyBucket: 'PHOTO_STORE_LEGACY_BUCKET',
  legacyRegion: 'PHOTO_STORE_LEGACY_REGION',
  endpoint: 'PHOTO_STORE_ENDPOINT',
  legacyEndpoint: 'PHOTO_STORE_LEGACY_ENDPOINT',
  encryption: 'PHOTO_STORE_ENCRYPTION',
  kmsKeyArn: 'PHOTO_STORE_KMS_KEY_ARN',
  codec: 'PHOTO_STORE_CODEC',
  copyOnMiss: 'PHOTO_STORE_COPY_ON_MISS',
  tombstones: 'PHOTO_STORE_TOMBSTONES',
  timeoutMs: 'PHOTO_STORE_TIMEOUT_MS',
  maxAttempts: 'PHOTO_STORE_MAX_ATTEMPTS',
  heartbeatMs: 'PHOTO_STORE_HEARTBEAT_MS',
} as const;

/** The names of the store's variables (for docs and for tests that build an environment). */
export const STORE_ENV = VAR;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;

/**
 * The store's configuration from its variables. `options.credentials`, when given, reaches both buckets instead of the
 * AWS_* and LEGACY_AWS_* keys (which are then not read): the S3-API gateway's own role (`--role-arn`, or the ECS task
 * role or instance profile with `--ambient-credentials`; cross-account, the legacy bucket's policy grants that role).
 */
export function storeConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: { credentials?: Credentials } = {},
): StoreConfig {
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const required = (name: string, why: string): string => {
    const v = get(name);
    if (!v) throw new ConfigError(`${name} is not set: ${why}`);
    return v;
  };

  const modeText = required(VAR.mode, `set it to one of ${STORE_MODES.join(', ')}`);
  if (!(STORE_MODES as readonly string[]).includes(modeText)) {
    throw new ConfigError(`${VAR.mode} must be one of ${STORE_MODES.join(', ')} (got "${modeText}")`);
  }
  const mode = modeText as StoreMode;

  const region = get('AWS_REGION') ?? get('AWS_DEFAULT_REGION');
  const side = (which: 'primary' | 'legacy'): SideSettings => {
    const bucketVar = which === 'primary' ? VAR.bucket : VAR.legacyBucket;
    const endpointVar = which === 'primary' ? VAR.endpoint : VAR.legacyEndpoint;
    const regionVar = which === 'primary' ? 'AWS_REGION' : VAR.legacyRegion;
    const bucket = required(
      bucketVar,
      `name the ${which === 'primary' ? 'new' : 'legacy'} bucket (mode ${mode} uses it)`,
    );
    const sideRegion = which === 'legacy' ? (get(VAR.legacyRegion) ?? region) : region;
    if (!sideRegion)
      throw new ConfigError(
        `${regionVar} is not set: give the region of the ${which === 'primary' ? 'new' : 'legacy'} bucket, e.g. eu-west-1`,
      );
    if (!REGION.test(sideRegion))
      throw new ConfigError(`${regionVar} must be an AWS region such as "eu-west-1" (got "${sideRegion}")`);
    const endpoint = get(endpointVar);
    if (endpoint !== undefined && !/^https?:\/\/[^\s/]+(\/.*)?$/.test(endpoint)) {
      throw new ConfigError(`${endpointVar} must be an http(s) URL such as http://127.0.0.1:9000 (got "${endpoint}")`);
    }
    return {
      bucket,
      region: sideRegion,
      ...(endpoint ? { endpoint } : {}),
      credentials: options.credentials ?? keysFrom(env, which),
    };
  };

  const primary = usesNew(mode) ? side('primary') : undefined;
  const legacy = usesLegacy(mode)
    ? { ...side('legacy'), codec: codecFrom(get(VAR.codec) ?? DEFAULT_CODEC) }
    : undefined;

  const encType = get(VAR.encryption) ?? 'SSE-S3';
  let encryption: Encryption;
  if (encType === 'SSE-S3') encryption = { type: 'SSE-S3' };
  else if (encType === 'SSE-KMS') {
    const arn = required(
      VAR.kmsKeyArn,
      `${VAR.encryption}=SSE-KMS needs the KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/UUID)`,
    );
    if (!KMS_ARN.test(arn))
      throw new ConfigError(
        `${VAR.kmsKeyArn} must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/UUID), not an alias or a bare id`,
      );
    encryption = { type: 'SSE-KMS', kmsKeyArn: arn, bucketKey: true };
  } else {
    throw new ConfigError(`${VAR.encryption} must be SSE-S3 or SSE-KMS (got "${encType}")`);
  }

  const copyOnMiss = boolVar(get(VAR.copyOnMiss), VAR.copyOnMiss, false);
  if (copyOnMiss && mode !== 'dual-read')
    throw new ConfigError(`${VAR.copyOnMiss}=true works only in dual-read mode (the mode is ${mode})`);
  const tombstones = boolVar(get(VAR.tombstones), VAR.tombstones, true);
  if (!tombstones && mode !== 'new-only') {
    throw new ConfigError(
      `${VAR.tombstones}=false works only in new-only mode (the mode is ${mode}, whose deletes need tombstones in the new bucket)`,
    );
  }

  return {
    mode,
    primary,
    legacy,
    encryption,
    copyOnMiss,
    tombstones,
    timeoutMs: intVar(get(VAR.timeoutMs), VAR.timeoutMs, 5000, 1),
    maxAttempts: intVar(get(VAR.maxAttempts), VAR.maxAttempts, 3, 1),
    heartbeatMs: intVar(get(VAR.heartbeatMs), VAR.heartbeatMs, HEARTBEAT_DEFAULT_MS, 100, HEARTBEAT_MAX_MS),
  };
}

function boolVar(text: string | undefined, name: string, dflt: boolean): boolean {
  if (text === undefined) return dflt;
  if (!['true', 'false', '1', '0'].includes(text))
    throw new ConfigError(`${name} must be true or false (got "${text}")`);
  return text === 'true' || text === '1';
}

function intVar(text: string | undefined, name: string, dflt: number, min: number, max?: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
    throw new ConfigError(
      `${name} must be a whole number ${max === undefined ? `of at least ${min}` : `from ${min} to ${max}`} (got "${text}")`,
    );
  }
  return n;
}

function keysFrom(env: NodeJS.ProcessEnv, side: 'primary' | 'legacy'): Keys {
  const p = side === 'primary' ? '' : 'LEGACY_';
  const id = env[`${p}AWS_ACCESS_KEY_ID`]?.trim();
  const secret = env[`${p}AWS_SECRET_ACCESS_KEY`]?.trim();
  const token = env[`${p}AWS_SESSION_TOKEN`]?.trim();
  const missing = [!id && `${p}AWS_ACCESS_KEY_ID`, !secret && `${p}AWS_SECRET_ACCESS_KEY`].filter(Boolean);
  if (missing.length) {
    throw new ConfigError(
      `missing ${missing.join(' and ')}: set the ${side === 'primary' ? 'new' : 'legacy'} bucket's access key in ${p}AWS_ACCESS_KEY_ID and ${p}AWS_SECRET_ACCESS_KEY`,
    );
  }
  return { accessKeyId: id!, secretAccessKey: secret!, ...(token ? { sessionToken: token } : {}) };
}

function codecFrom(text: string): CodecConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${VAR.codec} is not valid JSON: give the workspace's "codec" object, e.g. ${DEFAULT_CODEC}`);
  }
  const parsed = codecSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `${VAR.codec}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message} (the workspace's "codec" object, e.g. ${DEFAULT_CODEC})`,
    );
  }
  return parsed.data;
}
