/**
 * Resolves the codec's keys from where the workspace says they live: an environment variable or a Secrets Manager
 * secret. The workspace file holds only the NAME. Keys are returned newest first; nothing here logs or echoes them.
 *
 * Accepted contents: a JSON array of strings, a JSON object {"keys": [...]}, or text with the keys separated by
 * commas, spaces or newlines.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../../../workspaces/load';
import type { KeySource } from '../../../workspaces/schema';
import { credentialsProblem, describeAwsError } from '../aws/errors';

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
    if (missing) throw new ConfigError(`codec.keys: cannot read Secrets Manager secret "${source.secretsManager}": ${missing}`);
    throw new ConfigError(
      `codec.keys: cannot read Secrets Manager secret "${source.secretsManager}" (GetSecretValue: ${describeAwsError(err)}); check its name, region and the caller's secretsmanager:GetSecretValue right`,
    );
  }
  if (!text || text.trim() === '') throw new ConfigError(`codec.keys: Secrets Manager secret "${source.secretsManager}" is empty`);
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
      throw new ConfigError(`codec.keys: ${where} looks like JSON but does not parse; give a JSON array of keys or comma-separated keys`);
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
