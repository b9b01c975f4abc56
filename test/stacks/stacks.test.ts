/**
 * The synthesized stacks, checked with cdktf's Testing matchers, and a snapshot of every stack.
 */
import 'cdktf/lib/testing/adapters/jest';
import * as fs from 'fs';
import * as path from 'path';
import { Testing, type TerraformStack } from 'cdktf';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
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
import { SecretsmanagerSecretRotation } from '@cdktf/provider-aws/lib/secretsmanager-secret-rotation';
import { addStacks, type SynthOptions } from '../../stacks/app';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { loadWorkspace, parseWorkspace } from '../../workspaces/load';
import { ConfigError } from '../../workspaces/errors';
import { checkBatchFunctionMemory, migrationPrincipals, workspaceForFunction } from '../../stacks/batch-operations';
import { batchFunctionMemoryMb } from '../../workspaces/codec-memory';
import { cleanup, FIXED_NOW, tempDir, writeApprovedTeardown } from '../helpers/synth';
import { maskAssetHashes, testKeyRotationBundleDir, testLambdaBundleDir } from '../helpers/lambda-bundle';

Testing.setupJest();

const ROOT = path.resolve(__dirname, '../..');
const ENVS = ['dev', 'staging', 'prod'] as const;
const ws = Object.fromEntries(ENVS.map((e) => [e, loadWorkspace(e)])) as Record<
  (typeof ENVS)[number],
  ReturnType<typeof loadWorkspace>
>;

const scratch: string[] = [];
function build(options: Partial<SynthOptions> = {}) {
  const outdir = tempDir('testing-app');
  scratch.push(outdir);
  const app = Testing.app({ outdir });
  const built = addStacks(app, {
    backend: 'cloud',
    now: FIXED_NOW,
    lambdaBundleDir: testLambdaBundleDir(),
    keyRotationBundleDir: testKeyRotationBundleDir(),
    ...options,
  });
  const synth = new Map<string, string>();
  for (const stack of [...built.primary, ...built.legacy] as TerraformStack[])
    synth.set(stack.node.id, Testing.synth(stack));
  return { app, built, synth };
}
const json = (s: string | undefined) => JSON.parse(s ?? 'null');
const resources = (s: string | undefined, type: string): Record<string, any>[] =>
  Object.values(json(s).resource?.[type] ?? {});

/** A copy of the workspace files, and `edit(env, value)` to change one field of one of them by `set`. */
function workspacesCopy(tag: string, set: (raw: Record<string, any>, value: unknown) => void) {
  const dir = tempDir(tag);
  scratch.push(dir);
  for (const f of fs.readdirSync(path.join(ROOT, 'workspaces')).filter((f) => f.endsWith('.json'))) {
    fs.copyFileSync(path.join(ROOT, 'workspaces', f), path.join(dir, f));
  }
  const edit = (env: string, value: unknown) => {
    const raw = JSON.parse(fs.readFileSync(path.join(dir, `${env}.json`), 'utf8'));
    set(raw, value);
    fs.writeFileSync(path.join(dir, `${env}.json`), JSON.stringify(raw));
  };
  return { dir, edit };
}

const main = build();
const approvalDir = tempDir('approval');
const { approvalFile } = writeApprovedTeardown(approvalDir, 'prod');
const approved = build({ approvalFile });

afterAll(() => cleanup(approvalDir, ...scratch));

describe('the app', () => {
  it('synthesizes primary-<env> and legacy-<env> for each "aws" workspace, and nothing for local (s3-compatible)', () => {
    expect([...main.synth.keys()].sort()).toEqual([
      'legacy-dev',
      'legacy-prod',
      'legacy-staging',
      'primary-dev',
      'primary-prod',
      'primary-staging',
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
    expect(s).toHaveResourceWithProperties(S3BucketOwnershipControls, {
      rule: { object_ownership: 'BucketOwnerEnforced' },
    });
  });

  it('encrypts by default as the workspace says', () => {
    const enc = w.primary.encryption;
    const rule =
      enc.type === 'SSE-KMS'
        ? {
            apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: enc.kmsKeyArn },
            bucket_key_enabled: true,
          }
        : { apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } };
    expect(s).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, { rule: [rule] });
  });

  it('versions objects and expires what the workspace lifecycle says', () => {
    expect(s).toHaveResourceWithProperties(S3BucketVersioningA, { versioning_configuration: { status: 'Enabled' } });
    const lifecycle = json(s).resource.aws_s3_bucket_lifecycle_configuration.lifecycle;
    expect(lifecycle.depends_on).toEqual(['aws_s3_bucket_versioning.versioning']);
    expect(s).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: [
        expect.objectContaining({
          status: 'Enabled',
          abort_incomplete_multipart_upload: [
            { days_after_initiation: w.primary.lifecycle.abortIncompleteMultipartUploadDays },
          ],
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
          ? [
              {
                id: 'expire-batch-operations-manifests-and-reports',
                status: 'Enabled',
                filter: [{ prefix: w.batchOperations.reportsPrefix }],
                expiration: [{ days: w.batchOperations.reportsExpirationDays }],
              },
            ]
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

  it('creates the app user (and in dev only, the local-development user), each with a secret for its key, but no key', () => {
    const users = resources(s, 'aws_iam_user')
      .map((u) => u.name)
      .sort();
    const expected = [w.primary.appUser.name, ...(w.primary.devUser ? [w.primary.devUser.name] : [])].sort();
    expect(users).toEqual(expected);
    expect(users).toHaveLength(env === 'dev' ? 2 : 1);
    expect(
      resources(s, 'aws_secretsmanager_secret')
        .map((x) => x.name)
        .sort(),
    ).toEqual(expected.map((u) => `bucketmove/${env}/${u}/aws-credentials`).sort());
    expect(s).toHaveResource(SecretsmanagerSecret);
    // Keys and secret values are made by `npm run keys` and the rotation function, never by Terraform (no state holds
    // them).
    expect(resources(s, 'aws_iam_access_key')).toEqual([]);
    expect(resources(s, 'aws_secretsmanager_secret_version')).toEqual([]);
  });

  it('forgets, without destroying, the key and secret version an earlier version of the stack created (removed blocks)', () => {
    expect(json(s).removed).toEqual(
      ['app', ...(env === 'dev' ? ['dev'] : [])].flatMap((id) => [
        { from: `aws_iam_access_key.${id}-access-key`, lifecycle: { destroy: false } },
        { from: `aws_secretsmanager_secret_version.${id}-credentials-value`, lifecycle: { destroy: false } },
      ]),
    );
  });

  it('outputs names and ARNs, never a secret value', () => {
    const outputs = json(s).output as Record<string, { value: string }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'app_credentials_secret_arn',
        'app_user_arn',
        'bucket_arn',
        'bucket_name',
        'writer_role_arn',
        ...(env === 'dev' ? ['dev_credentials_secret_arn', 'dev_user_arn'] : []),
        ...(w.batchOperations.enabled
          ? ['batch_function_arn', 'batch_function_role_arn', 'batch_operations_role_arn', 'batch_reports_prefix']
          : []),
        ...(env === 'dev' ? [] : ['access_log_bucket', 'key_rotation_function_arn']),
        ...(w.gateway.enabled ? ['gateway_role_arn'] : []),
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
    expect(s).toHaveProviderWithProperties(AwsProvider, {
      allowed_account_ids: [w.legacy.accountId],
      region: w.legacy.region ?? w.region,
    });
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

  it('imports the legacy bucket and user; manages no access key, and releases any an earlier deploy managed, never destroying it', () => {
    expect(json(s).import).toEqual([
      { id: w.legacy.bucket, to: 'aws_s3_bucket.legacy-bucket' },
      { id: w.legacy.appUser.name, to: 'aws_iam_user.legacy-user' },
    ]);
    expect(s).toHaveResourceWithProperties(IamUser, { name: w.legacy.appUser.name });
    expect(resources(s, 'aws_iam_access_key')).toEqual([]);
    // By key id (an approved deploy's), and by list index (stacks synthesized before keys were addressed by id).
    expect(json(s).removed).toEqual(
      ['legacy-access-key', 'legacy-access-key-0', 'legacy-access-key-1'].map((name) => ({
        from: `aws_iam_access_key.${name}`,
        lifecycle: { destroy: false },
      })),
    );
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

  it('imports the listed access keys by key id, destroyable, and releases those a stack managed by list index', () => {
    const w = ws.prod;
    expect(json(s).import).toEqual([
      { id: w.legacy.bucket, to: 'aws_s3_bucket.legacy-bucket' },
      { id: w.legacy.appUser.name, to: 'aws_iam_user.legacy-user' },
      ...w.legacy.appUser.accessKeyIds.map((id) => ({ id, to: `aws_iam_access_key.legacy-access-key["${id}"]` })),
    ]);
    expect(json(s).resource.aws_iam_access_key).toEqual({
      'legacy-access-key': expect.objectContaining({
        for_each: `\${toset(${JSON.stringify(w.legacy.appUser.accessKeyIds)})}`,
        user: '${aws_iam_user.legacy-user.name}',
        lifecycle: { prevent_destroy: false, ignore_changes: ['status'] },
      }),
    });
    expect(json(s).removed).toEqual(
      ['legacy-access-key-0', 'legacy-access-key-1'].map((name) => ({
        from: `aws_iam_access_key.${name}`,
        lifecycle: { destroy: false },
      })),
    );
  });

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
      const r = json(other).resource;
      expect([r.aws_lambda_function?.['batch-function'], r.aws_cloudwatch_log_group?.['batch-log-group']]).toEqual([
        undefined,
        undefined,
      ]);
      // prod has the key rotation function's role besides the writer role; no Batch Operations role in either.
      expect(
        resources(other, 'aws_iam_role')
          .map((x) => x.name)
          .sort(),
      ).toEqual(
        [
          ws[env as 'dev' | 'prod'].primary.writerRoleName,
          ...(env === 'prod' ? ['bucketmove-key-rotation-prod'] : []),
        ].sort(),
      );
      expect(JSON.parse(r.aws_iam_role['writer-role'].assume_role_policy).Statement[0].Principal.AWS).toEqual(
        ws[env as 'dev' | 'prod'].migration.principals,
      );
    }
  });

  it('creates the function from the bundle: nodejs22.x, index.handler, the workspace sizes, the workspace as JSON', () => {
    expect(s).toHaveResourceWithProperties(LambdaFunction, {
      function_name: b.functionName,
      runtime: 'nodejs22.x',
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
    expect(() => workspaceForFunction(big)).toThrow(
      /^staging: the workspace is \d+ bytes as the function's BUCKETMOVE_WORKSPACE, over Lambda's 4096-byte limit/,
    );
  });

  it('refuses, in one line, a function whose memory cannot hold the codec path of its largest object (the measured sizing)', () => {
    expect(batchFunctionMemoryMb(w.codec, w.codec.type === 'plugin' ? 0 : w.codec.maxObjectBytes)).toBeLessThanOrEqual(
      b.memoryMb,
    );
    expect(() => checkBatchFunctionMemory(w)).not.toThrow();
    const small = { ...w, batchOperations: { ...b, memoryMb: 128 } };
    expect(() => checkBatchFunctionMemory(small)).toThrow(ConfigError);
    expect(() => checkBatchFunctionMemory(small)).toThrow(
      /^staging: batchOperations\.memoryMb 128 cannot copy objects of up to 256 MiB \(codec\.maxObjectBytes\) through the fernet codec: the function needs \d+ MB \(docs\/operations\.md, "Sizing the function"\); set batchOperations\.memoryMb to \d+ or more$/,
    );
    // Synth itself refuses it, before any stack is written.
    const dir = tempDir('ws-small-function');
    try {
      for (const f of fs.readdirSync(path.dirname(w.file)).filter((f) => f.endsWith('.json')))
        fs.copyFileSync(path.join(path.dirname(w.file), f), path.join(dir, f));
      const raw = JSON.parse(fs.readFileSync(path.join(dir, 'staging.json'), 'utf8'));
      raw.batchOperations.memoryMb = 128;
      fs.writeFileSync(path.join(dir, 'staging.json'), JSON.stringify(raw));
      expect(() => build({ workspacesDir: dir, envs: ['staging'] })).toThrow(
        /^staging: batchOperations\.memoryMb 128 cannot copy/,
      );
    } finally {
      cleanup(dir);
    }
  });

  it('keeps the function logs in its own group for the workspace retention', () => {
    expect(s).toHaveResourceWithProperties(CloudwatchLogGroup, {
      name: `/aws/lambda/${b.functionName}`,
      retention_in_days: b.logRetentionDays,
    });
  });

  it('creates the function role trusted by Lambda and the job role trusted by Batch Operations, both for this account only', () => {
    for (const [name, service] of [
      [b.functionRoleName, 'lambda.amazonaws.com'],
      [b.operationsRoleName, 'batchoperations.s3.amazonaws.com'],
    ]) {
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

describe('the scheduled key rotation (primary.keyRotation: on by default, except in dev)', () => {
  const role = (s: string | undefined) =>
    resources(s, 'aws_iam_role').find((r) => r.name === `bucketmove-key-rotation-${'prod'}`);

  it("staging and prod rotate the app user's key every 45 days with a rotation function; dev has none", () => {
    for (const env of ['staging', 'prod'] as const) {
      const s = main.synth.get(`primary-${env}`)!;
      expect(s).toHaveResourceWithProperties(SecretsmanagerSecretRotation, {
        secret_id: '${aws_secretsmanager_secret.app-credentials.id}',
        rotation_lambda_arn: '${aws_lambda_function.key-rotation-function.arn}',
        rotation_rules: { automatically_after_days: 45 },
        depends_on: ['aws_lambda_permission.app-key-rotation-permission'],
      });
      expect(s).toHaveResourceWithProperties(LambdaFunction, {
        function_name: `bucketmove-key-rotation-${env}`,
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        timeout: 300,
        role: '${aws_iam_role.key-rotation-role.arn}',
      });
      const fn = json(s).resource.aws_lambda_function['key-rotation-function'];
      expect(fn.filename).toMatch(/^assets\/[\w-]+\/[0-9A-F]{32}\/archive\.zip$/);
      expect(Object.keys(fn.environment.variables)).toEqual(['BUCKETMOVE_WORKSPACE']);
      expect(json(s).resource.aws_lambda_permission['app-key-rotation-permission']).toMatchObject({
        action: 'lambda:InvokeFunction',
        principal: 'secretsmanager.amazonaws.com',
        source_arn: '${aws_secretsmanager_secret.app-credentials.arn}',
        function_name: '${aws_lambda_function.key-rotation-function.function_name}',
      });
    }
    const dev = main.synth.get('primary-dev')!;
    for (const type of ['aws_secretsmanager_secret_rotation', 'aws_lambda_function', 'aws_lambda_permission'])
      expect(resources(dev, type)).toEqual([]);
  });

  it("the function's role may manage only the rotated users' keys and secrets, and read the Terraform Cloud token", () => {
    const s = main.synth.get('primary-prod')!;
    const w = ws.prod;
    const policy = JSON.parse(json(s).resource.aws_iam_role_policy['key-rotation-role-policy'].policy);
    expect(policy.Statement.map((x: { Sid: string; Resource: string[] }) => [x.Sid, x.Resource])).toEqual([
      [
        'WriteItsOwnLogs',
        [`arn:aws:logs:eu-west-1:${w.primary.accountId}:log-group:/aws/lambda/bucketmove-key-rotation-prod:*`],
      ],
      ['RotateTheUsersAccessKeys', [`arn:aws:iam::${w.primary.accountId}:user/${w.primary.appUser.name}`]],
      [
        'StageTheCredentialsSecrets',
        [
          `arn:aws:secretsmanager:eu-west-1:${w.primary.accountId}:secret:bucketmove/prod/${w.primary.appUser.name}/aws-credentials-??????`,
        ],
      ],
      [
        'ReadTheTerraformCloudToken',
        [`arn:aws:secretsmanager:eu-west-1:${w.primary.accountId}:secret:${w.terraformCloud!.app!.tokenSecret}-??????`],
      ],
    ]);
    expect(JSON.parse(role(s)!.assume_role_policy).Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: ['lambda.amazonaws.com'] },
        Condition: { StringEquals: { 'aws:SourceAccount': w.primary.accountId } },
      }),
    ]);
  });

  it("dev can schedule it too, for both its users; the days are the workspace's (at most 45)", () => {
    const dir = tempDir('ws-rotation');
    scratch.push(dir);
    for (const f of fs.readdirSync(path.join(ROOT, 'workspaces')).filter((f) => f.endsWith('.json')))
      fs.copyFileSync(path.join(ROOT, 'workspaces', f), path.join(dir, f));
    const raw = JSON.parse(fs.readFileSync(path.join(dir, 'dev.json'), 'utf8'));
    raw.primary.keyRotation = { schedule: true, afterDays: 30, graceDays: 3 };
    raw.terraformCloud.app.tokenSecret = 'bucketmove/dev/terraform-cloud-token';
    fs.writeFileSync(path.join(dir, 'dev.json'), JSON.stringify(raw));
    const s = build({ workspacesDir: dir, envs: ['dev'] }).synth.get('primary-dev')!;
    expect(
      resources(s, 'aws_secretsmanager_secret_rotation').map((r) => [
        r.secret_id,
        r.rotation_rules.automatically_after_days,
      ]),
    ).toEqual([
      ['${aws_secretsmanager_secret.app-credentials.id}', 30],
      ['${aws_secretsmanager_secret.dev-credentials.id}', 30],
    ]);
    raw.primary.keyRotation = { schedule: true, afterDays: 60 };
    expect(() => parseWorkspace(JSON.stringify(raw), path.join(dir, 'dev.json'))).toThrow(
      /dev\.json: primary\.keyRotation\.afterDays: must be at most 45: a key lives two rotation periods .*Security Hub IAM\.3/,
    );
    raw.primary.keyRotation = { schedule: true };
    delete raw.terraformCloud.app.tokenSecret;
    expect(() => parseWorkspace(JSON.stringify(raw), path.join(dir, 'dev.json'))).toThrow(
      /dev\.json: terraformCloud\.app\.tokenSecret: is required when the key rotation is scheduled/,
    );
  });
});

describe('access logs (primary.accessLogs: on by default, except in dev)', () => {
  const logBucketOf = (env: 'dev' | 'staging' | 'prod') => `${ws[env].primary.bucket}-access-logs`;
  const only = (s: string | undefined, type: string) => resources(s, type);

  it('staging and prod log every request to their bucket into a log bucket of their own; dev logs nothing by default', () => {
    for (const env of ['staging', 'prod'] as const) {
      const s = main.synth.get(`primary-${env}`)!;
      expect(only(s, 'aws_s3_bucket_logging')).toEqual([
        {
          bucket: '${aws_s3_bucket.bucket.id}',
          target_bucket: '${aws_s3_bucket.access-log-bucket.id}',
          target_prefix: 's3-access-logs/',
          target_object_key_format: { partitioned_prefix: { partition_date_source: 'EventTime' } },
          depends_on: ['aws_s3_bucket_policy.access-log-bucket-policy'],
        },
      ]);
      expect(json(s).output.access_log_bucket.value).toBe('${aws_s3_bucket.access-log-bucket.bucket}');
      expect(
        only(s, 'aws_s3_bucket')
          .map((b) => b.bucket)
          .sort(),
      ).toEqual([ws[env].primary.bucket, logBucketOf(env)].sort());
    }
    const dev = main.synth.get('primary-dev')!;
    expect(only(dev, 'aws_s3_bucket_logging')).toEqual([]);
    expect(only(dev, 'aws_s3_bucket')).toHaveLength(1);
  });

  it('hardens the log bucket: public access blocked, ACLs off, SSE-S3 (SSE-KMS cannot receive access logs), expiry, prevent_destroy', () => {
    const s = main.synth.get('primary-prod')!;
    const r = json(s).resource;
    expect(r.aws_s3_bucket['access-log-bucket']).toMatchObject({
      bucket: logBucketOf('prod'),
      force_destroy: false,
      lifecycle: { prevent_destroy: true },
    });
    expect(r.aws_s3_bucket_public_access_block['access-log-public-access-block']).toMatchObject({
      bucket: '${aws_s3_bucket.access-log-bucket.id}',
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(r.aws_s3_bucket_ownership_controls['access-log-ownership'].rule).toEqual({
      object_ownership: 'BucketOwnerEnforced',
    });
    expect(r.aws_s3_bucket_server_side_encryption_configuration['access-log-encryption'].rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } },
    ]);
    expect(r.aws_s3_bucket_lifecycle_configuration['access-log-lifecycle'].rule).toEqual([
      { id: 'expire-access-logs', status: 'Enabled', filter: [{ prefix: '' }], expiration: [{ days: 365 }] },
      {
        id: 'abort-incomplete-multipart-uploads',
        status: 'Enabled',
        filter: [{ prefix: '' }],
        abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
      },
    ]);
    const policy = JSON.parse(r.aws_s3_bucket_policy['access-log-bucket-policy'].policy);
    expect(policy.Statement.map((x: { Sid: string }) => x.Sid)).toEqual([
      'DenyInsecureTransport',
      'DenyOutdatedTls',
      'S3ServerAccessLogDelivery',
    ]);
    expect(policy.Statement[2]).toEqual({
      Sid: 'S3ServerAccessLogDelivery',
      Effect: 'Allow',
      Principal: { Service: ['logging.s3.amazonaws.com'] },
      Action: ['s3:PutObject'],
      Resource: [`arn:aws:s3:::${logBucketOf('prod')}/s3-access-logs/*`],
      Condition: {
        ArnLike: { 'aws:SourceArn': `arn:aws:s3:::${ws.prod.primary.bucket}` },
        StringEquals: { 'aws:SourceAccount': ws.prod.primary.accountId },
      },
    });
  });

  describe('as a workspace option', () => {
    const { dir, edit } = workspacesCopy('ws-access-logs', (raw, accessLogs) => {
      raw.primary.accessLogs = accessLogs;
    });
    edit('dev', { type: 'server-access-logs', bucket: 'acme-chat-photos-dev-logs', expirationDays: 30 });
    edit('prod', { type: 'cloudtrail', trailName: 'bucketmove-prod-photos', prefix: 'trail/' });
    edit('staging', { type: 'none' });
    const variant = build({ workspacesDir: dir });

    it('dev can log too, into a bucket and for a time of its choosing', () => {
      const s = variant.synth.get('primary-dev')!;
      expect(json(s).resource.aws_s3_bucket['access-log-bucket'].bucket).toBe('acme-chat-photos-dev-logs');
      expect(only(s, 'aws_s3_bucket_logging')).toHaveLength(1);
      expect(json(s).resource.aws_s3_bucket_lifecycle_configuration['access-log-lifecycle'].rule[0].expiration).toEqual(
        [{ days: 30 }],
      );
    });

    it('"none" turns it off', () => {
      const s = variant.synth.get('primary-staging')!;
      expect(only(s, 'aws_s3_bucket_logging')).toEqual([]);
      expect(json(s).resource.aws_s3_bucket['access-log-bucket']).toBeUndefined();
    });

    it("a named trail records the S3 data events of the bucket's objects instead, into the log bucket", () => {
      const s = variant.synth.get('primary-prod')!;
      const r = json(s).resource;
      expect(only(s, 'aws_s3_bucket_logging')).toEqual([]);
      expect(r.aws_cloudtrail['access-trail']).toMatchObject({
        name: 'bucketmove-prod-photos',
        s3_bucket_name: '${aws_s3_bucket.access-log-bucket.id}',
        s3_key_prefix: 'trail',
        enable_log_file_validation: true,
        is_multi_region_trail: false,
        include_global_service_events: false,
        advanced_event_selector: [
          {
            field_selector: [
              { field: 'eventCategory', equals: ['Data'] },
              { field: 'resources.type', equals: ['AWS::S3::Object'] },
              { field: 'resources.ARN', starts_with: [`arn:aws:s3:::${ws.prod.primary.bucket}/`] },
            ],
          },
        ],
        depends_on: ['aws_s3_bucket_policy.access-log-bucket-policy'],
      });
      const trailArn = `arn:aws:cloudtrail:eu-west-1:${ws.prod.primary.accountId}:trail/bucketmove-prod-photos`;
      const policy = JSON.parse(r.aws_s3_bucket_policy['access-log-bucket-policy'].policy);
      expect(policy.Statement.slice(2)).toEqual([
        expect.objectContaining({
          Sid: 'CloudTrailAclCheck',
          Action: ['s3:GetBucketAcl'],
          Condition: { StringEquals: { 'aws:SourceArn': trailArn } },
        }),
        expect.objectContaining({
          Sid: 'CloudTrailDelivery',
          Action: ['s3:PutObject'],
          Resource: [`arn:aws:s3:::${logBucketOf('prod')}/trail/AWSLogs/${ws.prod.primary.accountId}/*`],
          Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': trailArn } },
        }),
      ]);
    });

    it('refuses a default log bucket name S3 would refuse, in one line naming the field', () => {
      expect(() =>
        parseWorkspace(
          JSON.stringify({
            ...JSON.parse(fs.readFileSync(path.join(ROOT, 'workspaces', 'prod.json'), 'utf8')),
            primary: { ...ws.prod.primary, bucket: `a${'b'.repeat(52)}` },
          }),
          path.join(dir, 'prod.json'),
        ),
      ).toThrow(
        /prod\.json: primary\.accessLogs\.bucket: the default log bucket "ab+-access-logs" must be 3 to 63 characters long: name one in primary\.accessLogs\.bucket$/,
      );
    });
  });
});

describe("the S3-API gateway's role (gateway.enabled: staging on, dev and prod off)", () => {
  const w = ws.staging;
  const primary = main.synth.get('primary-staging')!;
  const legacy = main.synth.get('legacy-staging')!;
  const roleArn = `arn:aws:iam::${w.primary.accountId}:role/${w.gateway.roleName}`;

  it('is on in staging only; dev and prod get no gateway role and no legacy bucket policy', () => {
    expect([ws.dev, ws.staging, ws.prod].map((x) => x.gateway.enabled)).toEqual([false, true, false]);
    for (const env of ['dev', 'prod']) {
      expect(resources(main.synth.get(`primary-${env}`), 'aws_iam_role').map((r) => r.name)).not.toContain(
        'bucketmove-gateway',
      );
      expect(json(main.synth.get(`legacy-${env}`)).resource.aws_s3_bucket_policy).toBeUndefined();
    }
  });

  it('fills the defaults of an absent block from the schema alone', () => {
    expect(ws.prod.gateway).toEqual({
      enabled: false,
      roleName: 'bucketmove-gateway',
      assumedBy: { type: 'ecs-task' },
      writesLegacy: false,
    });
  });

  it('creates the role, trusted by ECS tasks of this account only, with gatewayPolicy on both buckets', () => {
    expect(primary).toHaveResourceWithProperties(IamRole, { name: w.gateway.roleName });
    const role = json(primary).resource.aws_iam_role['gateway-role'];
    expect(JSON.parse(role.assume_role_policy).Statement).toEqual([
      {
        Sid: 'EcsTasksRunTheGateway',
        Effect: 'Allow',
        Principal: { Service: ['ecs-tasks.amazonaws.com'] },
        Action: ['sts:AssumeRole'],
        Condition: { StringEquals: { 'aws:SourceAccount': w.primary.accountId } },
      },
    ]);
    expect(primary).toHaveResourceWithProperties(IamRolePolicy, {
      name: 'bucketmove-gateway',
      role: '${aws_iam_role.gateway-role.name}',
    });
    const policy = JSON.parse(json(primary).resource.aws_iam_role_policy['gateway-role-policy'].policy);
    const bySid = Object.fromEntries(policy.Statement.map((st: { Sid: string }) => [st.Sid, st]));
    expect(Object.keys(bySid).sort()).toEqual(
      [
        'ListTheNewBucket',
        'ReadWriteDeleteNewObjects',
        'UseTheNewBucketKeyThroughS3',
        'ListTheLegacyBucket',
        'ReadDeleteLegacyObjects',
        'ReadItsSecrets',
      ].sort(),
    );
    expect(bySid.ReadDeleteLegacyObjects.Resource).toEqual([`arn:aws:s3:::${w.legacy.bucket}/*`]);
    expect(bySid.ReadDeleteLegacyObjects.Action).toEqual(['s3:GetObject', 's3:DeleteObject']);
    // the codec's keys and the app's keys it verifies signatures against, and nothing else of Secrets Manager
    expect(bySid.ReadItsSecrets.Resource).toEqual([
      `arn:aws:secretsmanager:eu-west-1:${w.primary.accountId}:secret:legacy/photo-codec-keys-staging-??????`,
      `arn:aws:secretsmanager:eu-west-1:${w.primary.accountId}:secret:bucketmove/staging/gateway-app-keys-??????`,
    ]);
    expect(json(primary).output.gateway_role_arn.value).toBe('${aws_iam_role.gateway-role.arn}');
    expect(json(primary).resource.aws_iam_instance_profile).toBeUndefined();
  });

  it("grants the role the legacy bucket in the bucket's policy: list, read, delete, over TLS, by aws:PrincipalArn", () => {
    const [bp] = resources(legacy, 'aws_s3_bucket_policy');
    expect(bp.bucket).toBe('${aws_s3_bucket.legacy-bucket.id}');
    const doc = JSON.parse(bp.policy);
    const condition = {
      ArnEquals: { 'aws:PrincipalArn': roleArn },
      Bool: { 'aws:SecureTransport': 'true' },
    };
    expect(doc.Statement).toEqual([
      expect.objectContaining({
        Principal: { AWS: [`arn:aws:iam::${w.primary.accountId}:root`] },
        Action: ['s3:ListBucket'],
        Resource: [`arn:aws:s3:::${w.legacy.bucket}`],
        Condition: condition,
      }),
      expect.objectContaining({
        Action: ['s3:GetObject', 's3:DeleteObject'],
        Resource: [`arn:aws:s3:::${w.legacy.bucket}/*`],
        Condition: condition,
      }),
    ]);
    // Not imported and not protected: the teardown (and disabling the gateway) deletes it with the rest.
    expect(bp.lifecycle).toBeUndefined();
    expect(json(legacy).import?.some((i: { to: string }) => i.to.includes('aws_s3_bucket_policy'))).toBeFalsy();
  });

  describe('as a workspace option', () => {
    const { dir, edit } = workspacesCopy('ws-gateway', (raw, gateway) => {
      raw.gateway = gateway;
    });
    edit('dev', { enabled: true, assumedBy: { type: 'ec2-instance' }, writesLegacy: true });
    const principals = [`arn:aws:iam::${ws.prod.primary.accountId}:role/gateway-host-prod`];
    edit('prod', { enabled: true, roleName: 'bucketmove-gateway-prod', assumedBy: { type: 'principals', principals } });
    const variant = build({ workspacesDir: dir, envs: ['dev', 'prod'] });

    it('ec2-instance: EC2 may take the role, through an instance profile of the same name', () => {
      const s = variant.synth.get('primary-dev')!;
      expect(JSON.parse(json(s).resource.aws_iam_role['gateway-role'].assume_role_policy).Statement).toEqual([
        {
          Sid: 'Ec2InstancesRunTheGateway',
          Effect: 'Allow',
          Principal: { Service: ['ec2.amazonaws.com'] },
          Action: ['sts:AssumeRole'],
        },
      ]);
      expect(s).toHaveResourceWithProperties(IamInstanceProfile, {
        name: 'bucketmove-gateway',
        role: '${aws_iam_role.gateway-role.name}',
      });
      expect(Object.keys(json(s).output)).toEqual(
        expect.arrayContaining(['gateway_role_arn', 'gateway_instance_profile_arn']),
      );
    });

    it('writesLegacy adds PutObject on the legacy bucket, to the role and to the bucket policy alike', () => {
      const policy = JSON.parse(
        json(variant.synth.get('primary-dev')).resource.aws_iam_role_policy['gateway-role-policy'].policy,
      );
      const legacyObjects = policy.Statement.find((st: { Sid: string }) => st.Sid === 'ReadWriteDeleteLegacyObjects');
      expect(legacyObjects.Action).toEqual(['s3:GetObject', 's3:DeleteObject', 's3:PutObject']);
      const [bp] = resources(variant.synth.get('legacy-dev'), 'aws_s3_bucket_policy');
      expect(JSON.parse(bp.policy).Statement[1].Action).toEqual(['s3:GetObject', 's3:DeleteObject', 's3:PutObject']);
    });

    it("principals: those principals assume the role (the gateway's --role-arn), nobody else", () => {
      const s = variant.synth.get('primary-prod')!;
      expect(s).toHaveResourceWithProperties(IamRole, { name: 'bucketmove-gateway-prod' });
      expect(JSON.parse(json(s).resource.aws_iam_role['gateway-role'].assume_role_policy).Statement).toEqual([
        { Sid: 'PrincipalsRunTheGateway', Effect: 'Allow', Principal: { AWS: principals }, Action: ['sts:AssumeRole'] },
      ]);
      const [bp] = resources(variant.synth.get('legacy-prod'), 'aws_s3_bucket_policy');
      expect(JSON.parse(bp.policy).Statement[0].Condition.ArnEquals['aws:PrincipalArn']).toBe(
        `arn:aws:iam::${ws.prod.primary.accountId}:role/bucketmove-gateway-prod`,
      );
    });

    it('refuses a bad assumedBy in one line naming the field', () => {
      const bad = { ...JSON.parse(fs.readFileSync(path.join(ROOT, 'workspaces', 'prod.json'), 'utf8')) };
      bad.gateway = { enabled: true, assumedBy: { type: 'lambda' } };
      expect(() => parseWorkspace(JSON.stringify(bad), 'prod.json')).toThrow(/gateway\.assumedBy.*ecs-task/);
    });
  });
});

describe('source layout rules', () => {
  const shipped = ['main.ts', ...fs.readdirSync(path.join(ROOT, 'stacks')).map((f) => path.join('stacks', f))].filter(
    (f) => f.endsWith('.ts'),
  );
  const text = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');

  it.each(shipped)('%s imports provider classes by deep path only, and never iam-simulate', (f) => {
    expect(text(f)).not.toMatch(/from '@cdktf\/provider-aws'/);
    expect(text(f)).not.toMatch(/@cloud-copilot/);
  });

  it.each(shipped.filter((f) => !/stacks\/(perms|policies)\.ts$/.test(f)))(
    '%s names no IAM action or condition key itself',
    (f) => {
      expect(text(f)).not.toMatch(/['"`](s3|kms|sts|iam|secretsmanager|logs|lambda):[A-Za-z*]/);
    },
  );

  it('policies.ts takes every Action list from perms.ts (no literal action lists)', () => {
    expect(text(path.join('stacks', 'policies.ts'))).not.toMatch(/Action:\s*(\[\s*)?['"`]/);
    expect(text(path.join('stacks', 'policies.ts'))).toMatch(/from '\.\/perms'/);
  });
});
