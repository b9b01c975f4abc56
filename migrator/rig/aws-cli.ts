/**
 * Runs Debian's AWS CLI v2 (/usr/bin/aws) against an S3-compatible endpoint as an independent client: an environment of
 * its own (the keys in variables, never on the command line; no AWS_CA_BUNDLE, which breaks it against plain HTTP; no
 * shared config or credentials of the user; path-style addressing), and `--endpoint-url`.
 *
 * Known quirks of CLI 2.9 with Ceph RGW: an error whose XML has an empty <Message> makes the CLI fail with "argument
 * of type 'NoneType' is not iterable" (exit 255) instead of printing the code, and its parameter validation refuses
 * `tenant:bucket` names and STS sessions shorter than 900 s. Use it with each tenant's own keys and bare bucket names.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const AWS_CLI = '/usr/bin/aws';

export interface CliKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A config file that only sets path-style addressing: one per user in the temp dir, rewritten when its content is not
 * exactly this (it holds no secret, so sharing it between runs is harmless and leaves nothing behind per run).
 */
function pathStyleConfig(): string {
  const content = '[default]\ns3 =\n    addressing_style = path\n';
  const dir = path.join(os.tmpdir(), `bucketmove-awscli-${process.getuid?.() ?? 'user'}`);
  const file = path.join(dir, 'config');
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== content) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content, { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
  return file;
}

/** The environment the CLI runs in: nothing of the caller's AWS settings, only these keys and this region. */
export function awsCliEnv(keys: CliKeys, region: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: os.tmpdir(),
    LANG: 'C.UTF-8',
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    ...(keys.sessionToken ? { AWS_SESSION_TOKEN: keys.sessionToken } : {}),
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: pathStyleConfig(),
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

/**
 * `aws --endpoint-url ENDPOINT ...args` with the given keys; resolves with the exit code and output (never throws on
 * exit != 0).
 */
export function runAwsCli(
  args: string[],
  o: { endpoint: string; region: string; keys: CliKeys; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      AWS_CLI,
      ['--endpoint-url', o.endpoint, '--no-cli-pager', ...args],
      { env: awsCliEnv(o.keys, o.region), timeout: o.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') reject(err);
        else
          resolve({
            code: err ? Number((err as { code?: number }).code) : 0,
            stdout: `${stdout}`,
            stderr: `${stderr}`,
          });
      },
    );
  });
}
