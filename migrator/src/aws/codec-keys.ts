/**
 * The codec a workspace configures, with its keys fetched (the codecs themselves take keys as given: codec/).
 *
 * Resolves the codec's keys from where the workspace says they live: an environment variable or a Secrets Manager
 * secret. The workspace file holds only the NAME. Keys are returned newest first; nothing here logs or echoes them.
 *
 * Accepted contents: a JSON array of strings, a JSON object {"keys": [...]}, or text with the keys separated by
 * commas, spaces or newlines.
 */
import * as path from 'path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../../../workspaces/errors';
import type { LoadedWorkspace } from '../../../workspaces/load';
import type { KeySource } from '../../../workspaces/schema';
import { createCodec, type Codec } from '../codec';
import { credentialsProblem, describeAwsError } from './errors';

export interface KeyDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** A Secrets Manager client (tests inject one); otherwise one is made for `region` with the default credentials. */
  readonly secretsManager?: Pick<SecretsManagerClient, 'send'>;
  readonly region?: string;
}

export async function resolveKeys(source: KeySource, deps: KeyDeps = {}): Promise<string[]> {
  if ('env' in source) {
    const value = (deps.env ?? process.env)[source.env];
    if (value === undefined || value.trim() === '') {
      throw new ConfigError(
        `codec.keys: environment variable ${source.env} is not set; export it with the legacy codec key(s), newest first, comma-separated`,
      );
    }
    return splitKeys(value, `environment variable ${source.env}`);
  }
  const client = deps.secretsManager ?? new SecretsManagerClient({ region: deps.region });
  let text: string | undefined;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: source.secretsManager }));
    text = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
  } catch (err) {
    // With no credentials at all, the secret's name and rights are not the problem: say what is.
    const missing = credentialsProblem(err);
    if (missing)
      throw new ConfigError(`codec.keys: cannot read Secrets Manager secret "${source.secretsManager}": ${missing}`);
    throw new ConfigError(
      `codec.keys: cannot read Secrets Manager secret "${source.secretsManager}" (GetSecretValue: ${describeAwsError(err)}); check its name, region and the caller's secretsmanager:GetSecretValue right`,
    );
  }
  if (!text || text.trim() === '')
    throw new ConfigError(`codec.keys: Secrets Manager secret "${source.secretsManager}" is empty`);
  return splitKeys(text, `Secrets Manager secret "${source.secretsManager}"`);
}

function splitKeys(text: string, where: string): string[] {
  const trimmed = text.trim();
  let keys: unknown;
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      keys = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown }).keys;
    } catch {
      throw new ConfigError(
        `codec.keys: ${where} looks like JSON but does not parse; give a JSON array of keys or comma-separated keys`,
      );
    }
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
      throw new ConfigError(`codec.keys: ${where} must hold a JSON array of key strings (or {"keys": [...]})`);
    }
  } else {
    keys = trimmed.split(/[\s,]+/);
  }
  const list = (keys as string[]).map((k) => k.trim()).filter(Boolean);
  if (list.length === 0) throw new ConfigError(`codec.keys: ${where} holds no keys`);
  return list;
}

/** Resolves the workspace's codec keys (env var or Secrets Manager) and builds its codec. */
export async function loadCodec(ws: LoadedWorkspace, deps: KeyDeps = {}): Promise<Codec> {
  const keys = ws.codec.keys
    ? await resolveKeys(ws.codec.keys, { region: ws.legacy.region ?? ws.region, ...deps })
    : [];
  return createCodec(ws.codec, keys, path.dirname(ws.file));
}
