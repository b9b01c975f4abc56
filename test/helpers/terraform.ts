/**
 * Runs Terraform offline against the provider mirror:
 * - a CLI config written to a temp folder that installs hashicorp/aws only from the filesystem mirror
 *   (/opt/tf-plugins, or BUCKETMOVE_TF_PLUGIN_MIRROR) and never from the network;
 * - TF_CLI_CONFIG_FILE, CHECKPOINT_DISABLE and fake AWS credentials are set for the child process only.
 *
 * Speed: the mirror is in the "unpacked" layout, so `terraform init` links the 675 MB provider binary into
 * `.terraform/providers` with a symlink instead of copying it (measured: about 0.5 s per init once the binary is in
 * the page cache, and a 28 kB `.terraform`). `linkedNotCopied` lets the tests check that this still holds.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { TfJson } from './synth';

export const PLUGIN_MIRROR = process.env.BUCKETMOVE_TF_PLUGIN_MIRROR ?? '/opt/tf-plugins';
export const TERRAFORM = process.env.BUCKETMOVE_TERRAFORM ?? 'terraform';

let cliConfigDir: string | undefined;

/** The CLI config file (written once per test process). */
export function cliConfigFile(): string {
  if (!cliConfigDir) {
    cliConfigDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-tfcli-'));
    fs.writeFileSync(
      path.join(cliConfigDir, 'terraform.rc'),
      [
        'provider_installation {',
        '  filesystem_mirror {',
        `    path    = ${JSON.stringify(PLUGIN_MIRROR)}`,
        '    include = ["registry.terraform.io/hashicorp/aws"]',
        '  }',
        '  direct {',
        '    exclude = ["registry.terraform.io/*/*"]',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  }
  return path.join(cliConfigDir, 'terraform.rc');
}

export function removeCliConfig(): void {
  if (cliConfigDir) fs.rmSync(cliConfigDir, { recursive: true, force: true });
  cliConfigDir = undefined;
}

/** The child's environment: the offline CLI config, no checkpoint calls, fake credentials, no profile or IMDS. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('AWS_') || key.startsWith('TF_')) delete env[key];
  }
  return {
    ...env,
    TF_CLI_CONFIG_FILE: cliConfigFile(),
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

export interface TfResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function terraform(cwd: string, args: string[]): Promise<TfResult> {
  return new Promise((resolve) => {
    execFile(
      TERRAFORM,
      [...args, '-no-color'],
      { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        // On a non-zero exit, err.code is the exit code; on a spawn failure (no terraform on PATH) it is a string.
        const exit: unknown = err ? (err as { code?: unknown }).code : 0;
        const code = typeof exit === 'number' ? exit : 127;
        resolve({ code, stdout, stderr: err && !stderr ? err.message : stderr });
      },
    );
  });
}

/** Runs a command and throws with Terraform's own output if it fails. */
export async function mustTerraform(cwd: string, args: string[]): Promise<string> {
  const r = await terraform(cwd, args);
  if (r.code !== 0)
    throw new Error(`terraform ${args.join(' ')} failed in ${cwd} (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/**
 * Writes a stack's JSON into its own folder (one Terraform root per stack), with the stack's `assets/` (the zips its
 * resources name by relative path) copied from `synthDir`, the folder cdktf synthesized it into, when it has any.
 */
export function writeRoot(parent: string, name: string, json: TfJson, synthDir?: string): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(json, null, 2));
  const assets = synthDir && path.join(synthDir, 'assets');
  if (assets && fs.existsSync(assets)) fs.cpSync(assets, path.join(dir, 'assets'), { recursive: true });
  return dir;
}

/**
 * The test-only changes that let `terraform plan` run with no network and fake credentials. The real stacks keep
 * credential validation and the account pin; only this copy drops them:
 * - the `cloud` block (or any backend) is removed, so state is local and empty;
 * - the provider skips credential validation, the account-id lookup and the metadata API;
 * - `allowed_account_ids` is removed, because with no account-id lookup the provider cannot check it (it fails with
 *   "AWS account ID not allowed"). The caller asserts its value on the synthesized stack first.
 */
export function offlinePlanConfig(json: TfJson, o: { iamEndpoint?: string } = {}): TfJson {
  const copy: TfJson = JSON.parse(JSON.stringify(json));
  delete copy.terraform.cloud;
  delete copy.terraform.backend;
  for (const provider of copy.provider.aws as TfJson[]) {
    delete provider.allowed_account_ids;
    provider.skip_credentials_validation = true;
    provider.skip_requesting_account_id = true;
    provider.skip_metadata_api_check = 'true';
    // Imports read the object even with -refresh=false: send IAM's reads to a fake (startFakeIam).
    if (o.iamEndpoint) provider.endpoints = [{ iam: o.iamEndpoint }];
  }
  return copy;
}

/**
 * A stand-in for the IAM API on 127.0.0.1, answering the two reads with which the AWS provider imports an access key
 * (GetAccessKeyLastUsed for its user, then ListAccessKeys of that user), so that a plan with `import` blocks for keys
 * runs offline. Every other action is a 400, so a plan that asks more fails visibly. `actions` lists what was asked.
 */
export async function startFakeIam(
  user: string,
  keyIds: readonly string[],
): Promise<{ url: string; actions: string[]; close(): Promise<void> }> {
  const ns = 'https://iam.amazonaws.com/doc/2010-05-08/';
  const actions: string[] = [];
  const answer = (action: string, result: string) =>
    `<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></${action}Response>`;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const q = new URLSearchParams(body);
      const action = q.get('Action') ?? '';
      actions.push(action);
      let xml: string | undefined;
      if (action === 'GetAccessKeyLastUsed' && keyIds.includes(q.get('AccessKeyId') ?? '')) {
        xml = answer(
          action,
          `<AccessKeyLastUsed><Region>N/A</Region><ServiceName>N/A</ServiceName></AccessKeyLastUsed><UserName>${user}</UserName>`,
        );
      } else if (action === 'ListAccessKeys' && q.get('UserName') === user) {
        const members = keyIds.map(
          (id) =>
            `<member><UserName>${user}</UserName><AccessKeyId>${id}</AccessKeyId><Status>Active</Status><CreateDate>2020-01-01T00:00:00Z</CreateDate></member>`,
        );
        xml = answer(
          action,
          `<UserName>${user}</UserName><AccessKeyMetadata>${members.join('')}</AccessKeyMetadata><IsTruncated>false</IsTruncated>`,
        );
      }
      res.writeHead(xml ? 200 : 400, { 'Content-Type': 'text/xml' });
      res.end(
        xml ??
          `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>not faked: ${action}</Message></Error></ErrorResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    actions,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** True when the provider in `.terraform` is a symlink into the mirror (no copy of the binary was made). */
export function linkedNotCopied(root: string): boolean {
  const base = path.join(root, '.terraform', 'providers', 'registry.terraform.io', 'hashicorp', 'aws');
  const [version] = fs.readdirSync(base);
  const platformDir = path.join(base, version, `${os.platform()}_${os.arch() === 'x64' ? 'amd64' : os.arch()}`);
  return (
    fs.lstatSync(platformDir).isSymbolicLink() &&
    fs.realpathSync(platformDir).startsWith(fs.realpathSync(PLUGIN_MIRROR))
  );
}

/** Runs async jobs with at most `limit` at a time (Terraform is CPU-bound; the machine has 2 cores). */
export async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

/**
 * A Terraform state (format 4) holding what `cdktf deploy legacy-<env>` imported: the legacy bucket and user, with
 * `force_destroy` as the last apply left it and tags the legacy team set (the stack must leave them alone), and access
 * keys at the addresses a stack gave them: `index` (`legacy-access-key-<i>`, stacks synthesized before keys were
 * addressed by id) or `key-id` (`legacy-access-key["<id>"]`, the approved teardown stack). It stands in for the real
 * state so that the teardown interlock can be exercised offline with `-refresh=false` (no AWS call is made).
 */
const LEGACY_TAGS = { owner: 'chat-app-legacy', 'cost-center': '4711' };

export function importedLegacyState(args: {
  bucket: string;
  userName: string;
  userArn: string;
  accessKeys: { ids: string[]; addressed: 'index' | 'key-id' };
  forceDestroy: boolean;
}): TfJson {
  const provider = 'provider["registry.terraform.io/hashicorp/aws"]';
  const instance = (attributes: TfJson, sensitive: string[] = [], indexKey?: string) => ({
    schema_version: 0,
    ...(indexKey === undefined ? {} : { index_key: indexKey }),
    attributes,
    sensitive_attributes: sensitive.map((a) => [{ type: 'get_attr', value: a }]),
  });
  const resource = (type: string, name: string, instances: TfJson[]) => ({
    mode: 'managed',
    type,
    name,
    provider,
    instances,
  });
  const key = (id: string, indexKey?: string) =>
    instance({ id, user: args.userName, status: 'Active' }, ['secret', 'ses_smtp_password_v4'], indexKey);
  const { ids, addressed } = args.accessKeys;
  const keys =
    addressed === 'index'
      ? ids.map((id, i) => resource('aws_iam_access_key', `legacy-access-key-${i}`, [key(id)]))
      : ids.length
        ? [
            resource(
              'aws_iam_access_key',
              'legacy-access-key',
              ids.map((id) => key(id, id)),
            ),
          ]
        : [];
  return {
    version: 4,
    terraform_version: '1.11.4',
    serial: 1,
    lineage: '6b0f3c1e-0000-4000-8000-000000000000',
    outputs: {},
    resources: [
      resource('aws_s3_bucket', 'legacy-bucket', [
        instance({
          id: args.bucket,
          bucket: args.bucket,
          arn: `arn:aws:s3:::${args.bucket}`,
          force_destroy: args.forceDestroy,
          tags: LEGACY_TAGS,
          tags_all: LEGACY_TAGS,
        }),
      ]),
      resource('aws_iam_user', 'legacy-user', [
        instance({
          id: args.userName,
          name: args.userName,
          arn: args.userArn,
          path: '/',
          force_destroy: args.forceDestroy,
          tags: LEGACY_TAGS,
          tags_all: LEGACY_TAGS,
        }),
      ]),
      ...keys,
    ],
  };
}
