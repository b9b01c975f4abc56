/**
 * The synthesized stacks, checked with cdktf's Testing matchers, and a snapshot of every stack.
 */
import 'cdktf/lib/testing/adapters/jest';
import * as fs from 'fs';
import * as path from 'path';
import { Testing, type TerraformStack } from 'cdktf';
import { IamAccessKey } from '@cdktf/provider-aws/lib/iam-access-key';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version';
import { addStacks, type SynthOptions } from '../stacks/app';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { ConfigError, loadWorkspace, parseWorkspace } from '../workspaces/load';
import { checkBatchFunctionMemory, migrationPrincipals, workspaceForFunction } from '../stacks/batch-operations';
import { batchFunctionMemoryMb } from '../workspaces/codec-memory';
import { approvalFor, cleanup, FIXED_NOW, tempDir } from './helpers/synth';
import { maskAssetHashes, testLambdaBundleDir } from './helpers/lambda-bundle';

Testing.setupJest();

const ROOT = path.resolve(__dirname, '..');
const ENVS = ['dev', 'staging', 'prod'] as const;
const ws = Object.fromEntries(ENVS.map((e) => [e, loadWorkspace(e)])) as Record<(typeof ENVS)[number], ReturnType<typeof loadWorkspace>>;

const scratch: string[] = [];
function build(options: Partial<SynthOptions> = {}) {
  const outdir = tempDir('testing-app');
  scratch.push(outdir);
  const app = Testing.app({ outdir });
  const built = addStacks(app, { backend: 'cloud', now: FIXED_NOW, lambdaBundleDir: testLambdaBundleDir(), ...options });
  const synth = new Map<string, string>();
  for (const stack of [...built.primary, ...built.legacy] as TerraformStack[]) synth.set(stack.node.id, Testing.synth(stack));
  return { app, built, synth };
}
const json = (s: string | undefined) => JSON.parse(s ?? 'null');
const resources = (s: string | undefined, type: string): Record<string, any>[] => Object.values(json(s).resource?.[type] ?? {});

const main = build();
const approvalDir = tempDir('approval');
const approvalFile = path.join(approvalDir, 'approval.json');
fs.writeFileSync(approvalFile, JSON.stringify(approvalFor('prod', ws.prod.legacy.bucket)));
const approved = build({ approvalFile });

afterAll(() => cleanup(approvalDir, ...scratch));

describe('the app', () => {
  it('synthesizes primary-<env> and legacy-<env> for each "aws" workspace, and nothing for local (s3-compatible)', () => {
    expect([...main.synth.keys()].sort()).toEqual([
      'legacy-dev', 'legacy-prod', 'legacy-staging', 'primary-dev', 'primary-prod', 'primary-staging',
    ]);
    expect(loadWorkspace('local').target).toBe('s3-compatible');
  });

  it('synthesizes only the envs asked for', () => {
    expect([...build({ envs: ['prod'] }).synth.keys()].sort()).toEqual(['legacy-prod', 'primary-prod']);
  });

  it.each([...main.synth.keys()].sort())('%s matches its snapshot', (name) => {
    expect(maskAssetHashes(main.synth.get(name)!)).toMatchSnapshot();
  });

  it('legacy-prod with a teardown approval matches its snapshot', () => {
    expect(approved.synth.get('legacy-prod')).toMatchSnapshot();
  });
});

describe.each(ENVS)('primary-%s', (env) => {
  const s = main.synth.get(`primary-${env}`)!;
  const w = ws[env];

  it('pins the provider to the primary account, with the workspace tags as default tags', () => {
    expect(s).toHaveProviderWithProperties(AwsProvider, {
      region: w.region,
      allowed_account_ids: [w.primary.accountId],
      default_tags: [{ tags: { ...w.tags, 'bucketmove:stack': `primary-${env}` } }],
    });
    for (const p of ['skip_credentials_validation', 'skip_requesting_account_id', 'skip_metadata_api_check']) {
      expect(json(s).provider.aws[0]).not.toHaveProperty(p);
    }
  });

  it('keeps state in Terraform Cloud: the workspace file names organization and workspace', () => {
    expect(json(s).terraform.cloud).toEqual({
      organization: w.terraformCloud!.organization,
      workspaces: { name: w.terraformCloud!.workspaces.primary },
    });
  });

  it('creates the bucket, protected from destroy', () => {
    expect(s).toHaveResourceWithProperties(S3Bucket, {
      bucket: w.primary.bucket,
      force_destroy: false,
      lifecycle: { prevent_destroy: true },
    });
  });

  it('blocks all public access and disables ACLs', () => {
    expect(s).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(s).toHaveResourceWithProperties(S3BucketOwnershipControls, { rule: { object_ownership: 'BucketOwnerEnforced' } });
  });

  it('encrypts by default as the workspace says', () => {
    const enc = w.primary.encryption;
    const rule =
      enc.type === 'SSE-KMS'
        ? { apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: enc.kmsKeyArn }, bucket_key_enabled: true }
        : { apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } };
    expect(s).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, { rule: [rule] });
  });

  it('versions objects and expires what the workspace lifecycle says', () => {
    expect(s).toHaveResourceWithProperties(S3BucketVersioningA, { versioning_configuration: { status: 'Enabled' } });
    const [lifecycle] = resources(s, 'aws_s3_bucket_lifecycle_configuration');
    expect(lifecycle.depends_on).toEqual(['aws_s3_bucket_versioning.versioning']);
    expect(s).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: [
        expect.objectContaining({
          status: 'Enabled',
          abort_incomplete_multipart_upload: [{ days_after_initiation: w.primary.lifecycle.abortIncompleteMultipartUploadDays }],
        }),
        expect.objectContaining({
          status: 'Enabled',
          noncurrent_version_expiration: [{ noncurrent_days: w.primary.lifecycle.noncurrentVersionExpirationDays }],
        }),
        expect.objectContaining({
          id: 'expire-tombstones',
          status: 'Enabled',
          filter: [{ tag: [{ key: 'bucketmove', value: 'tombstone' }] }],
          expiration: [{ days: w.primary.lifecycle.tombstoneExpirationDays }],
        }),
        ...(w.batchOperations.enabled
          ? [{ id: 'expire-batch-operations-manifests-and-reports', status: 'Enabled', filter: [{ prefix: w.batchOperations.reportsPrefix }], expiration: [{ days: w.batchOperations.reportsExpirationDays }] }]
          : []),
      ],
    });
  });

  it('has a bucket policy on its bucket', () => {
    expect(s).toHaveResourceWithProperties(S3BucketPolicy, { bucket: '${aws_s3_bucket.bucket.id}' });
  });

  it('creates the writer role with the migration trust policy', () => {
    expect(s).toHaveResourceWithProperties(IamRole, { name: w.primary.writerRoleName });
  });

  it('creates the app user (and in dev only, the local-development user), each key in its own secret', () => {
    const users = resources(s, 'aws_iam_user').map((u) => u.name).sort();
    const expected = [w.primary.appUser.name, ...(w.primary.devUser ? [w.primary.devUser.name] : [])].sort();
    expect(users).toEqual(expected);
    expect(users).toHaveLength(env === 'dev' ? 2 : 1);
    expect(resources(s, 'aws_iam_access_key')).toHaveLength(expected.length);
    expect(resources(s, 'aws_secretsmanager_secret').map((x) => x.name).sort()).toEqual(
      expected.map((u) => `bucketmove/${env}/${u}/aws-credentials`).sort(),
    );
    expect(s).toHaveResource(IamAccessKey);
    expect(s).toHaveResource(SecretsmanagerSecret);
  });

  it('stores each key pair as the env vars the app reads', () => {
    for (const id of ['app', ...(env === 'dev' ? ['dev'] : [])]) {
      expect(s).toHaveResourceWithProperties(SecretsmanagerSecretVersion, {
        secret_id: `\${aws_secretsmanager_secret.${id}-credentials.id}`,
        secret_string: `\${jsonencode({"AWS_ACCESS_KEY_ID" = aws_iam_access_key.${id}-access-key.id, "AWS_SECRET_ACCESS_KEY" = aws_iam_access_key.${id}-access-key.secret})}`,
      });
    }
  });

  it('outputs names and ARNs, never a secret value', () => {
    const outputs = json(s).output as Record<string, { value: string }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'app_credentials_secret_arn', 'app_user_arn', 'bucket_arn', 'bucket_name', 'writer_role_arn',
        ...(env === 'dev' ? ['dev_credentials_secret_arn', 'dev_user_arn'] : []),
        ...(w.batchOperations.enabled
          ? ['batch_function_arn', 'batch_function_role_arn', 'batch_operations_role_arn', 'batch_reports_prefix']
          : []),
      ].sort(),
    );
    for (const { value } of Object.values(outputs)) {
      expect(value).not.toMatch(/\.secret\b|secret_string|secret_version/);
    }
  });
});

describe.each(ENVS)('legacy-%s', (env) => {
  const s = main.synth.get(`legacy-${env}`)!;
  const w = ws[env];

  it('pins the provider to the legacy account, without default tags (they would retag imported resources)', () => {
    expect(s).toHaveProviderWithProperties(AwsProvider, { allowed_account_ids: [w.legacy.accountId], region: w.legacy.region ?? w.region });
    expect(json(s).provider.aws[0]).not.toHaveProperty('default_tags');
    expect(json(s).terraform.cloud.workspaces).toEqual({ name: w.terraformCloud!.workspaces.legacy });
  });

  it('creates the reader role, trusted by the migrator principals (and the Batch Operations function) with the ExternalId', () => {
    const [role] = resources(s, 'aws_iam_role');
    expect(role.name).toBe(w.legacy.readerRoleName);
    expect(JSON.parse(role.assume_role_policy).Statement[0]).toEqual(
      expect.objectContaining({
        Principal: { AWS: migrationPrincipals(w) },
        Condition: { StringEquals: { 'sts:ExternalId': w.migration.externalId } },
      }),
    );
  });

  it('imports the legacy bucket, user and every access key', () => {
    expect(json(s).import).toEqual([
      { id: w.legacy.bucket, to: 'aws_s3_bucket.legacy-bucket' },
      { id: w.legacy.appUser.name, to: 'aws_iam_user.legacy-user' },
      ...w.legacy.appUser.accessKeyIds.map((id, i) => ({ id, to: `aws_iam_access_key.legacy-access-key-${i}` })),
    ]);
    expect(s).toHaveResourceWithProperties(IamUser, { name: w.legacy.appUser.name });
  });

  it('without an approval, the imported resources cannot be destroyed and the bucket is not force-destroyed', () => {
    expect(s).toHaveResourceWithProperties(S3Bucket, {
      bucket: w.legacy.bucket,
      force_destroy: false,
      lifecycle: { prevent_destroy: true, ignore_changes: ['tags'] },
    });
    for (const type of ['aws_s3_bucket', 'aws_iam_user', 'aws_iam_access_key']) {
      for (const r of resources(s, type)) expect(r.lifecycle.prevent_destroy).toBe(true);
    }
    expect(json(s).output.teardown_approved.value).toBe(false);
  });
});

describe('legacy-prod with a teardown approval', () => {
  const s = approved.synth.get('legacy-prod')!;

  it('lifts prevent_destroy and sets force_destroy on the bucket and the user', () => {
    expect(s).toHaveResourceWithProperties(S3Bucket, {
      bucket: ws.prod.legacy.bucket,
      force_destroy: true,
      lifecycle: { prevent_destroy: false, ignore_changes: ['tags'] },
    });
    expect(s).toHaveResourceWithProperties(IamUser, { name: ws.prod.legacy.appUser.name, force_destroy: true });
    for (const r of resources(s, 'aws_iam_access_key')) expect(r.lifecycle.prevent_destroy).toBe(false);
    expect(json(s).output.teardown_approved.value).toBe(true);
  });

  it('leaves every other env protected', () => {
    for (const env of ['dev', 'staging']) {
      const other = approved.synth.get(`legacy-${env}`);
      expect(other).toBe(main.synth.get(`legacy-${env}`));
      expect(resources(other, 'aws_s3_bucket')[0].lifecycle.prevent_destroy).toBe(true);
    }
  });

  it('changes nothing in the primary stacks', () => {
    for (const env of ENVS) expect(approved.synth.get(`primary-${env}`)).toBe(main.synth.get(`primary-${env}`));
  });
});

describe('backend choice', () => {
  it('"local" keeps state in terraform.<stack>.tfstate instead of Terraform Cloud', () => {
    const local = build({ backend: 'local', envs: ['dev'] });
    for (const name of ['primary-dev', 'legacy-dev']) {
      const t = json(local.synth.get(name)).terraform;
      expect(t.cloud).toBeUndefined();
      expect(t.backend.local.path).toBe(path.join(process.cwd(), `terraform.${name}.tfstate`));
    }
  });
});

describe('S3 Batch Operations (batchOperations.enabled: staging on, dev and prod off)', () => {
  const s = main.synth.get('primary-staging')!;
  const w = ws.staging;
  const b = w.batchOperations;
  const role = (name: string) => resources(s, 'aws_iam_role').find((r) => r.name === name)!;
  const functionRoleArn = `arn:aws:iam::${w.primary.accountId}:role/${b.functionRoleName}`;

  it('is on in staging only', () => {
    expect([ws.dev, ws.staging, ws.prod].map((x) => x.batchOperations.enabled)).toEqual([false, true, false]);
    for (const env of ['dev', 'prod']) {
      const other = main.synth.get(`primary-${env}`);
      for (const type of ['aws_lambda_function', 'aws_cloudwatch_log_group']) expect(resources(other, type)).toEqual([]);
      expect(resources(other, 'aws_iam_role').map((r) => r.name)).toEqual([ws[env as 'dev' | 'prod'].primary.writerRoleName]);
      expect(JSON.parse(resources(other, 'aws_iam_role')[0].assume_role_policy).Statement[0].Principal.AWS).toEqual(ws[env as 'dev' | 'prod'].migration.principals);
    }
  });

  it('creates the function from the bundle: nodejs20.x, index.handler, the workspace sizes, the workspace as JSON', () => {
    expect(s).toHaveResourceWithProperties(LambdaFunction, {
      function_name: b.functionName,
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      memory_size: b.memoryMb,
      timeout: b.timeoutSeconds,
      reserved_concurrent_executions: b.reservedConcurrency,
      role: '${aws_iam_role.batch-function-role.arn}',
      logging_config: { log_format: 'Text', log_group: '${aws_cloudwatch_log_group.batch-log-group.name}' },
      depends_on: ['aws_iam_role_policy.batch-function-role-policy', 'aws_cloudwatch_log_group.batch-log-group'],
    });
    const [fn] = resources(s, 'aws_lambda_function');
    expect(fn.filename).toMatch(/^assets\/[\w-]+\/[0-9A-F]{32}\/archive\.zip$/);
    expect(fn.source_code_hash).toBe(`\${filebase64sha256("${fn.filename}")}`);
    expect(Object.keys(fn.environment.variables)).toEqual(['BUCKETMOVE_WORKSPACE']);
  });

  it('gives the function the workspace as a document the loader accepts, equal to the file it came from, with no path', () => {
    const [fn] = resources(s, 'aws_lambda_function');
    const text: string = fn.environment.variables.BUCKETMOVE_WORKSPACE;
    const { file: _f, ...expected } = w;
    expect(JSON.parse(text)).not.toHaveProperty('file');
    const { file: _g, ...reparsed } = parseWorkspace(text, '/var/task/staging.json', 'staging');
    expect(reparsed).toEqual(expected);
    expect(text).not.toContain(path.dirname(w.file));
  });

  it('refuses a workspace too large for Lambda environment variables, in one line', () => {
    const big = { ...w, tags: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`tag-${i}`, 'x'.repeat(100)])) };
    expect(() => workspaceForFunction(big)).toThrow(ConfigError);
    expect(() => workspaceForFunction(big)).toThrow(/^staging: the workspace is \d+ bytes as the function's BUCKETMOVE_WORKSPACE, over Lambda's 4096-byte limit/);
  });

  it('refuses, in one line, a function whose memory cannot hold the codec path of its largest object (the measured sizing)', () => {
    expect(batchFunctionMemoryMb(w.codec, w.codec.type === 'plugin' ? 0 : w.codec.maxObjectBytes)).toBeLessThanOrEqual(b.memoryMb);
    expect(() => checkBatchFunctionMemory(w)).not.toThrow();
    const small = { ...w, batchOperations: { ...b, memoryMb: 128 } };
    expect(() => checkBatchFunctionMemory(small)).toThrow(ConfigError);
    expect(() => checkBatchFunctionMemory(small)).toThrow(
      /^staging: batchOperations\.memoryMb 128 cannot copy objects of up to 256 MiB \(codec\.maxObjectBytes\) through the fernet codec: the function needs \d+ MB \(README, "Sizing the function"\); set batchOperations\.memoryMb to \d+ or more$/,
    );
    // Synth itself refuses it, before any stack is written.
    const dir = tempDir('ws-small-function');
    try {
      for (const f of fs.readdirSync(path.dirname(w.file)).filter((f) => f.endsWith('.json'))) fs.copyFileSync(path.join(path.dirname(w.file), f), path.join(dir, f));
      const raw = JSON.parse(fs.readFileSync(path.join(dir, 'staging.json'), 'utf8'));
      raw.batchOperations.memoryMb = 128;
      fs.writeFileSync(path.join(dir, 'staging.json'), JSON.stringify(raw));
      expect(() => build({ workspacesDir: dir, envs: ['staging'] })).toThrow(/^staging: batchOperations\.memoryMb 128 cannot copy/);
    } finally {
      cleanup(dir);
    }
  });

  it('keeps the function logs in its own group for the workspace retention', () => {
    expect(s).toHaveResourceWithProperties(CloudwatchLogGroup, { name: `/aws/lambda/${b.functionName}`, retention_in_days: b.logRetentionDays });
  });

  it('creates the function role trusted by Lambda and the job role trusted by Batch Operations, both for this account only', () => {
    for (const [name, service] of [[b.functionRoleName, 'lambda.amazonaws.com'], [b.operationsRoleName, 'batchoperations.s3.amazonaws.com']]) {
      expect(JSON.parse(role(name).assume_role_policy).Statement).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: [service] },
          Action: ['sts:AssumeRole'],
          Condition: { StringEquals: { 'aws:SourceAccount': w.primary.accountId } },
        }),
      ]);
    }
  });

  it('lets the function role assume the writer role (created after it) and the legacy reader role, with the ExternalId', () => {
    const writer = role(w.primary.writerRoleName);
    expect(writer.depends_on).toEqual(['aws_iam_role.batch-function-role']);
    const reader = resources(main.synth.get('legacy-staging'), 'aws_iam_role')[0];
    for (const trust of [writer.assume_role_policy, reader.assume_role_policy]) {
      expect(JSON.parse(trust).Statement).toEqual([
        expect.objectContaining({
          Principal: { AWS: [...w.migration.principals, functionRoleArn] },
          Condition: { StringEquals: { 'sts:ExternalId': w.migration.externalId } },
        }),
      ]);
    }
    for (const env of ['dev', 'prod'] as const) {
      const other = resources(main.synth.get(`legacy-${env}`), 'aws_iam_role')[0];
      expect(JSON.parse(other.assume_role_policy).Statement[0].Principal.AWS).toEqual(ws[env].migration.principals);
    }
  });

  it('denies the app user everything under the jobs prefix (an explicit Deny; the allow on the bucket stays)', () => {
    const policy = JSON.parse(resources(s, 'aws_iam_user_policy')[0].policy);
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Resource: [`arn:aws:s3:::${w.primary.bucket}/${b.reportsPrefix}*`] }),
    );
    const prod = JSON.parse(resources(main.synth.get('primary-prod'), 'aws_iam_user_policy')[0].policy);
    expect(prod.Statement.filter((x: { Effect: string }) => x.Effect === 'Deny')).toEqual([]);
  });

  it('outputs the function, the two roles and the prefix', () => {
    const out = json(s).output;
    expect(out.batch_function_arn.value).toBe('${aws_lambda_function.batch-function.arn}');
    expect(out.batch_operations_role_arn.value).toBe('${aws_iam_role.batch-operations-role.arn}');
    expect(out.batch_reports_prefix.value).toBe(b.reportsPrefix);
  });
});

describe('the function bundle', () => {
  it('is required only when a synthesized workspace enables Batch Operations: else a one-line error naming the fix', () => {
    const missing = path.join(approvalDir, 'no-bundle-here');
    let caught: unknown;
    try {
      build({ lambdaBundleDir: missing });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toBe(
      `${path.join(missing, 'index.js')} is missing (batchOperations is enabled for staging): run \`npm run build:lambda\` first`,
    );
    expect([...build({ lambdaBundleDir: missing, envs: ['dev', 'prod'] }).synth.keys()]).toHaveLength(4);
    // The teardown gate synthesizes the legacy stack alone: it names the function role but needs no bundle.
    const legacyOnly = build({ lambdaBundleDir: missing, envs: ['staging'], legacyOnly: true }).synth;
    expect([...legacyOnly.keys()]).toEqual(['legacy-staging']);
    expect(legacyOnly.get('legacy-staging')).toBe(main.synth.get('legacy-staging'));
  });

  it('does not churn the snapshot when the code changes: only the masked content hash differs', () => {
    const other = tempDir('other-bundle');
    scratch.push(other);
    fs.writeFileSync(path.join(other, 'index.js'), 'exports.handler = async () => ({ changed: true });\n');
    const changed = build({ lambdaBundleDir: other, envs: ['staging'] }).synth.get('primary-staging')!;
    const original = main.synth.get('primary-staging')!;
    expect(changed).not.toBe(original);
    expect(maskAssetHashes(changed)).toBe(maskAssetHashes(original));
  });
});

describe('source layout rules', () => {
  const shipped = ['main.ts', ...fs.readdirSync(path.join(ROOT, 'stacks')).map((f) => path.join('stacks', f))].filter((f) =>
    f.endsWith('.ts'),
  );
  const text = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');

  it.each(shipped)('%s imports provider classes by deep path only, and never iam-simulate', (f) => {
    expect(text(f)).not.toMatch(/from '@cdktf\/provider-aws'/);
    expect(text(f)).not.toMatch(/@cloud-copilot/);
  });

  it.each(shipped.filter((f) => !/stacks\/(perms|policies)\.ts$/.test(f)))('%s names no IAM action or condition key itself', (f) => {
    expect(text(f)).not.toMatch(/['"`](s3|kms|sts|iam|secretsmanager|logs|lambda):[A-Za-z*]/);
  });

  it('policies.ts takes every Action list from perms.ts (no literal action lists)', () => {
    expect(text(path.join('stacks', 'policies.ts'))).not.toMatch(/Action:\s*(\[\s*)?['"`]/);
    expect(text(path.join('stacks', 'policies.ts'))).toMatch(/from '\.\/perms'/);
  });
});
