/**
 * The SDK client factory of the data half: one S3 client per side ('legacy' | 'primary') of a workspace, with the
 * side's region and endpoint, path-style addressing and checksums-when-required for S3-compatible servers, the shared
 * transport (keep-alive agent, timeouts, the SDK's retry strategy), and the side's credentials (STS AssumeRole with
 * ExternalId, or static keys). The migrator, the store, the seeder, the audit and the tests all build clients here.
 */
import { HeadBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { type LoadedWorkspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { readRigState, rigStatePath, type RigState } from './rig-state';
import { bucketAddress } from './bucket';
import {
  assumeRoleCredentials,
  masterCredentials,
  migrationRoleArn,
  sessionName as defaultSessionName,
  staticCredentials,
  type Credentials,
  type CredentialsMode,
} from './credentials';
import { resolveEndpoint, SIDES, type ResolvedEndpoint, type Side } from './endpoint';
import { credentialsProblem, describeAwsError, httpStatusOf, nameOperations } from './errors';
import { createRequestHandler, createRetryStrategy, transport as completeTransport, type Transport } from './http';
import { enableLightPath, hotPathFromEnv, type HotPath } from './light-s3';

// The SDK warns once per process that its releases after January 2027 need Node 22; this project's tools still run
// on Node 20 (docs/testing.md, "Node versions"), so the warning would only be noise on every CLI's stderr. An explicit
// setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Settings {
  /** undefined: AWS's endpoint for the region. */
  readonly endpoint?: string;
  readonly region: string;
  readonly s3Compatible: boolean;
  readonly credentials: Credentials;
  readonly transport?: Partial<Transport>;
}

/** The client settings for an endpoint, without credentials (shared by S3, STS and IAM clients). */
export function clientConfig(s: Omit<S3Settings, 'credentials'>): S3ClientConfig {
  const t = completeTransport(s.transport);
  return {
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    requestHandler: createRequestHandler(t),
    retryStrategy: createRetryStrategy(t),
    // S3-compatible servers: no virtual-host buckets on 127.0.0.1, and RGW refuses the SDK's default streaming
    // (aws-chunked) checksums with 411, so checksums are sent only where an operation requires one.
    ...(s.s3Compatible
      ? {
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  };
}

/** A bare S3 client for an endpoint and credentials (the rig and tests use it for principals other than the sides'). */
export function createS3Client(s: S3Settings): S3Client {
  return nameOperations(new S3Client({ ...clientConfig(s), credentials: s.credentials }));
}

export interface SideClientOptions {
  /** Overrides the workspace's migration.credentials. */
  readonly credentials?: CredentialsMode;
  readonly transport?: Partial<Transport>;
  /** For assume-role: the role session name (default bucketmove-<env>-<side>-<pid>). */
  readonly sessionName?: string;
  /** For assume-role: the session length (STS default 3600 s). */
  readonly sessionDurationSeconds?: number;
  /** For assume-role: the caller's own credentials (default: the rig's migrator on the rig, else the SDK chain). */
  readonly master?: Credentials;
  /** Where static keys are read from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly rigStatePath?: string;
  readonly rigState?: RigState;
  /**
   * The request path of a small-object copy's per-object calls (light-s3.ts): "light" (default) or "sdk"; default
   * from BUCKETMOVE_S3_HOT_PATH in `env`.
   */
  readonly hotPath?: HotPath;
}

export interface SideClient {
  readonly side: Side;
  readonly s3: S3Client;
  /** The bucket as requests must name it (see bucket.ts). */
  readonly bucket: string;
  readonly endpoint: ResolvedEndpoint;
  readonly mode: CredentialsMode;
  /** The role assumed, in assume-role mode. */
  readonly roleArn?: string;
  /** Closes the client's sockets. */
  destroy(): void;
}

/** The S3 client of one side. Missing static keys or an unreadable rig state: a one-line ConfigError. */
export function createSideClient(ws: LoadedWorkspace, side: Side, options: SideClientOptions = {}): SideClient {
  const endpoint = resolveEndpoint(ws, side, options);
  const mode = options.credentials ?? ws.migration.credentials;
  const t = completeTransport(options.transport);
  const config = clientConfig({
    endpoint: endpoint.url,
    region: endpoint.region,
    s3Compatible: endpoint.s3Compatible,
    transport: t,
  });
  let credentials: Credentials;
  let roleArn: string | undefined;
  if (mode === 'static') {
    credentials = staticCredentials(side, endpoint, options.env);
  } else {
    roleArn = migrationRoleArn(ws, side, endpoint.region);
    credentials = assumeRoleCredentials({
      roleArn,
      externalId: ws.migration.externalId,
      sessionName: options.sessionName ?? defaultSessionName(ws, side),
      durationSeconds: options.sessionDurationSeconds,
      master: options.master ?? masterCredentials(endpoint),
      // STS lives on the same endpoint on RGW; on AWS the SDK picks the regional STS endpoint.
      stsEndpoint: endpoint.s3Compatible ? endpoint.url : undefined,
      region: endpoint.region,
      // STS shares the S3 client's sockets, with a retry strategy (and adaptive rate limit) of its own.
      requestHandler: config.requestHandler as ReturnType<typeof createRequestHandler>,
      retryStrategy: createRetryStrategy(t),
    });
  }
  const s3 = enableLightPath(
    nameOperations(new S3Client({ ...config, credentials })),
    options.hotPath ?? hotPathFromEnv(options.env),
  );
  // Either way the credentials act in the side's own account: the role lives there, and so does the owner of the keys.
  const bucket = bucketAddress({
    bucket: ws[side].bucket,
    bucketAccount: endpoint.accountId,
    callerAccount: endpoint.accountId,
    s3Compatible: endpoint.s3Compatible,
  });
  return { side, s3, bucket, endpoint, mode, roleArn, destroy: () => s3.destroy() };
}

/** Both sides' clients; the rig state (if any) is read once. */
export function createClients(ws: LoadedWorkspace, options: SideClientOptions = {}): Record<Side, SideClient> {
  const needsRig = SIDES.some((s) => ws[s].endpoint === 'rig');
  const rigState = options.rigState ?? (needsRig ? readRigState(options.rigStatePath ?? rigStatePath()) : undefined);
  const opts = { ...options, rigState };
  return { legacy: createSideClient(ws, 'legacy', opts), primary: createSideClient(ws, 'primary', opts) };
}

/**
 * Both sides' preflight at once (a role session and a HeadBucket each: on AWS, two round trips saved at every start);
 * when both fail, the legacy side's error is the one thrown, as when they ran in turn.
 */
export async function preflightBoth(clients: { legacy: SideClient; primary: SideClient }): Promise<void> {
  const [legacy, primary] = await Promise.allSettled([preflight(clients.legacy), preflight(clients.primary)]);
  if (legacy.status === 'rejected') throw legacy.reason;
  if (primary.status === 'rejected') throw primary.reason;
}

/**
 * Checks before a run that a side's credentials resolve (for assume-role: that STS grants the session) and that its
 * bucket answers; every failure becomes a one-line ConfigError naming the side, the cause and what to check.
 */
export async function preflight(c: SideClient): Promise<void> {
  try {
    await c.s3.config.credentials();
  } catch (err) {
    const status = httpStatusOf(err);
    if (c.mode === 'assume-role' && (status === 403 || status === 401)) {
      throw new ConfigError(
        `the ${c.side} side: STS refused to assume ${c.roleArn} (HTTP ${status}): check that the role trusts the migrator principal and the workspace's migration.externalId`,
      );
    }
    const missing = credentialsProblem(err);
    const whose = c.mode === 'assume-role' ? `to assume ${c.roleArn} with` : 'for';
    throw new ConfigError(
      missing
        ? `the ${c.side} side: ${missing}`
        : `the ${c.side} side: no usable credentials ${whose} (${describeAwsError(err)})`,
    );
  }
  try {
    await c.s3.send(new HeadBucketCommand({ Bucket: c.bucket }));
  } catch (err) {
    const status = httpStatusOf(err);
    const where = c.endpoint.url ?? `AWS ${c.endpoint.region}`;
    if (status === 404) throw new ConfigError(`the ${c.side} side: bucket "${c.bucket}" does not exist at ${where}`);
    if (status === 403)
      throw new ConfigError(`the ${c.side} side: access denied to bucket "${c.bucket}" at ${where} (HTTP 403)`);
    throw new ConfigError(
      `the ${c.side} side: ${where} did not answer for bucket "${c.bucket}" (${describeAwsError(err)})`,
    );
  }
}
