/**
 * Offline Terraform on every synthesized stack: `terraform init -backend=false` + `terraform validate` against the
 * provider mirror; for the primary stacks also `terraform plan` with fake credentials and `terraform show -json`, with
 * assertions on the plan: the resources, no destroy or update actions, and the rendered policy documents.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { loadWorkspace, type LoadedWorkspace } from '../workspaces/load';
import {
  importedLegacyState,
  linkedNotCopied,
  mustTerraform,
  offlinePlanConfig,
  pool,
  removeCliConfig,
  terraform,
  writeRoot,
  type TfResult,
} from './helpers/terraform';
import { approvalFor, cleanup, get, synthApp, tempDir, type TfJson } from './helpers/synth';

const ENVS = ['dev', 'staging', 'prod'] as const;
const ws = Object.fromEntries(ENVS.map((e) => [e, loadWorkspace(e)])) as Record<(typeof ENVS)[number], LoadedWorkspace>;

const work = tempDir('terraform');
const synth = synthApp();
const approvalFile = path.join(work, 'approval.json');
fs.writeFileSync(approvalFile, JSON.stringify(approvalFor('prod', ws.prod.legacy.bucket)));
const approved = synthApp({ approvalFile, envs: ['prod'] });

/** Every synthesized stack, as written by the app (unmodified), plus the approved teardown variant of legacy-prod. */
const roots: [string, TfJson][] = [
  ...synth.stacks.entries(),
  ['legacy-prod-approved', get(approved.stacks, 'legacy-prod')],
];
/** The folder each root was synthesized into (its assets, such as the function's zip, are copied from there). */
const synthDirs = new Map<string, string>([...synth.dirs.entries(), ['legacy-prod-approved', get(approved.dirs, 'legacy-prod')]]);

interface ValidateResult {
  valid: boolean;
  error_count: number;
  warning_count: number;
  diagnostics: unknown[];
}
const validated = new Map<string, { result: ValidateResult; linked: boolean }>();
const plans = new Map<string, TfJson>();
/** stack name -> the base64 SHA-256 of each zip in its assets (what filebase64sha256 must give the function). */
const zips = new Map<string, string[]>();
function zipsOf(dir: string): string[] {
  const assets = path.join(dir, 'assets');
  if (!fs.existsSync(assets)) return [];
  return (fs.readdirSync(assets, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.zip'))
    .map((f) => createHash('sha256').update(fs.readFileSync(path.join(assets, f))).digest('base64'));
}
/** The teardown interlock, exercised on legacy-prod with a state that holds the imported resources. */
const teardown = new Map<string, TfResult | TfJson>();

beforeAll(async () => {
  const validateJobs = roots.map(([name, json]) => async () => {
    const dir = writeRoot(path.join(work, 'validate'), name, json, synthDirs.get(name));
    await mustTerraform(dir, ['init', '-backend=false', '-input=false']);
    const out = await mustTerraform(dir, ['validate', '-json']);
    validated.set(name, { result: JSON.parse(out), linked: linkedNotCopied(dir) });
  });
  const planJobs = ENVS.map((env) => async () => {
    const name = `primary-${env}`;
    const dir = writeRoot(path.join(work, 'plan'), name, offlinePlanConfig(get(synth.stacks, name)), get(synth.dirs, name));
    zips.set(name, zipsOf(dir));
    await mustTerraform(dir, ['init', '-backend=false', '-input=false']);
    await mustTerraform(dir, ['plan', '-input=false', '-lock=false', '-out=plan.bin']);
    plans.set(name, JSON.parse(await mustTerraform(dir, ['show', '-json', 'plan.bin'])));
  });
  const teardownJobs = [false, true].map((isApproved) => async () => {
    const label = isApproved ? 'approved' : 'unapproved';
    const json = isApproved ? get(approved.stacks, 'legacy-prod') : get(synth.stacks, 'legacy-prod');
    const dir = writeRoot(path.join(work, 'teardown'), label, offlinePlanConfig(json));
    const l = ws.prod.legacy;
    const state = (forceDestroy: boolean) =>
      importedLegacyState({
        bucket: l.bucket,
        userName: l.appUser.name,
        userArn: `arn:aws:iam::${l.accountId}:user/${l.appUser.name}`,
        accessKeyIds: l.appUser.accessKeyIds,
        forceDestroy,
      });
    const offline = ['-input=false', '-lock=false', '-refresh=false'];
    await mustTerraform(dir, ['init', '-backend=false', '-input=false']);
    // After the first deploy: imported, force_destroy false. What would the next deploy do?
    fs.writeFileSync(path.join(dir, 'terraform.tfstate'), JSON.stringify(state(false)));
    await mustTerraform(dir, ['plan', ...offline, '-out=deploy.bin']);
    teardown.set(`${label}:deploy`, JSON.parse(await mustTerraform(dir, ['show', '-json', 'deploy.bin'])));
    // What `cdktf destroy legacy-prod` runs: a destroy plan. Unapproved, Terraform must refuse it.
    if (!isApproved) {
      teardown.set('unapproved:destroy', await terraform(dir, ['plan', '-destroy', ...offline]));
      return;
    }
    // Approved, after the approved deploy set force_destroy in state: destroy removes the imported resources.
    fs.writeFileSync(path.join(dir, 'terraform.tfstate'), JSON.stringify(state(true)));
    await mustTerraform(dir, ['plan', '-destroy', ...offline, '-out=destroy.bin']);
    teardown.set('approved:destroy', JSON.parse(await mustTerraform(dir, ['show', '-json', 'destroy.bin'])));
  });
  // Longest jobs first, two at a time: Terraform and the provider are CPU-bound and the machine has 2 cores.
  await pool([...planJobs, ...teardownJobs, ...validateJobs], 2);
}, 600_000);

afterAll(() => {
  cleanup(work, synth.outdir, approved.outdir);
  removeCliConfig();
});

describe('terraform init + validate, offline, for every synthesized stack', () => {
  it('covers the six stacks and the approved teardown variant', () => {
    expect(roots.map(([n]) => n).sort()).toEqual([
      'legacy-dev', 'legacy-prod', 'legacy-prod-approved', 'legacy-staging', 'primary-dev', 'primary-prod', 'primary-staging',
    ]);
  });

  it.each(roots.map(([n]) => n))('%s is valid, with no warnings', (name) => {
    const { result } = validated.get(name)!;
    expect(result.diagnostics).toEqual([]);
    expect(result).toMatchObject({ valid: true, error_count: 0, warning_count: 0 });
  });

  it.each(roots.map(([n]) => n))('%s links the provider from the mirror instead of copying it', (name) => {
    expect(validated.get(name)!.linked).toBe(true);
  });
});

/** The resources each primary stack must plan, by address. */
function expectedAddresses(w: LoadedWorkspace): string[] {
  const user = (id: string) => [
    `aws_iam_user.${id}-user`,
    `aws_iam_user_policy.${id}-user-policy`,
    `aws_iam_access_key.${id}-access-key`,
    `aws_secretsmanager_secret.${id}-credentials`,
    `aws_secretsmanager_secret_version.${id}-credentials-value`,
  ];
  return [
    'aws_s3_bucket.bucket',
    'aws_s3_bucket_public_access_block.public-access-block',
    'aws_s3_bucket_ownership_controls.ownership',
    'aws_s3_bucket_server_side_encryption_configuration.encryption',
    'aws_s3_bucket_versioning.versioning',
    'aws_s3_bucket_lifecycle_configuration.lifecycle',
    'aws_s3_bucket_policy.bucket-policy',
    'aws_iam_role.writer-role',
    'aws_iam_role_policy.writer-role-policy',
    ...user('app'),
    ...(w.primary.devUser ? user('dev') : []),
    ...(w.batchOperations.enabled
      ? [
          'aws_cloudwatch_log_group.batch-log-group',
          'aws_iam_role.batch-function-role',
          'aws_iam_role_policy.batch-function-role-policy',
          'aws_lambda_function.batch-function',
          'aws_iam_role.batch-operations-role',
          'aws_iam_role_policy.batch-operations-role-policy',
        ]
      : []),
  ].sort();
}

describe.each(ENVS)('terraform plan of primary-%s (fake credentials, offline)', (env) => {
  const w = ws[env];
  const name = `primary-${env}`;
  const plan = () => get(plans, name);
  const change = (address: string) => {
    const rc = (plan().resource_changes as TfJson[]).find((r) => r.address === address);
    if (!rc) throw new Error(`${address} is not in the plan`);
    return rc.change as { actions: string[]; after: TfJson; after_unknown: TfJson; after_sensitive: TfJson };
  };

  it('plans exactly the expected resources', () => {
    expect((plan().resource_changes as TfJson[]).map((r) => r.address).sort()).toEqual(expectedAddresses(w));
  });

  it('only creates: no delete, replace or update action', () => {
    for (const rc of plan().resource_changes as TfJson[]) expect([rc.address, rc.change.actions]).toEqual([rc.address, ['create']]);
    expect(JSON.stringify(plan().resource_changes)).not.toContain('"delete"');
  });

  it('renders every policy exactly as synthesized (the IAM matrix evaluates these documents)', () => {
    const synthesized = get(synth.stacks, name).resource;
    const checked: string[] = [];
    for (const rc of plan().resource_changes as TfJson[]) {
      for (const attr of ['policy', 'assume_role_policy']) {
        const planned = rc.change.after[attr];
        if (typeof planned !== 'string') continue;
        expect(JSON.parse(planned)).toEqual(JSON.parse(synthesized[rc.type][rc.name][attr]));
        checked.push(`${rc.address}.${attr}`);
      }
    }
    expect(checked.sort()).toEqual(
      [
        'aws_iam_role.writer-role.assume_role_policy',
        'aws_iam_role_policy.writer-role-policy.policy',
        'aws_iam_user_policy.app-user-policy.policy',
        'aws_s3_bucket_policy.bucket-policy.policy',
        ...(w.primary.devUser ? ['aws_iam_user_policy.dev-user-policy.policy'] : []),
        ...(w.batchOperations.enabled
          ? [
              'aws_iam_role.batch-function-role.assume_role_policy',
              'aws_iam_role_policy.batch-function-role-policy.policy',
              'aws_iam_role.batch-operations-role.assume_role_policy',
              'aws_iam_role_policy.batch-operations-role-policy.policy',
            ]
          : []),
      ].sort(),
    );
  });

  it('plans the bucket policy with the TLS denies and the conditional-write deny for the writer role', () => {
    const doc = JSON.parse(change('aws_s3_bucket_policy.bucket-policy').after.policy);
    const bySid = Object.fromEntries((doc.Statement as TfJson[]).map((s) => [s.Sid, s]));
    expect(bySid.DenyInsecureTransport).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    expect(bySid.DenyOutdatedTls).toMatchObject({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } } });
    expect(bySid.DenyMigrationWritesWithoutIfNoneMatch).toEqual({
      Sid: 'DenyMigrationWritesWithoutIfNoneMatch',
      Effect: 'Deny',
      Principal: '*',
      Action: ['s3:PutObject'],
      Resource: [`arn:aws:s3:::${w.primary.bucket}/*`],
      Condition: {
        ArnEquals: { 'aws:PrincipalArn': [`arn:aws:iam::${w.primary.accountId}:role/${w.primary.writerRoleName}`] },
        Null: { 's3:if-none-match': 'true' },
        Bool: { 's3:ObjectCreationOperation': 'true' },
      },
    });
  });

  it('plans the hardened bucket settings', () => {
    expect(change('aws_s3_bucket.bucket').after).toMatchObject({ bucket: w.primary.bucket, force_destroy: false });
    expect(change('aws_s3_bucket_public_access_block.public-access-block').after).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(change('aws_s3_bucket_ownership_controls.ownership').after.rule).toEqual([{ object_ownership: 'BucketOwnerEnforced' }]);
    const sse = change('aws_s3_bucket_server_side_encryption_configuration.encryption').after.rule[0];
    if (w.primary.encryption.type === 'SSE-KMS') {
      expect(sse.apply_server_side_encryption_by_default).toEqual([{ sse_algorithm: 'aws:kms', kms_master_key_id: w.primary.encryption.kmsKeyArn }]);
      expect(sse.bucket_key_enabled).toBe(true);
    } else {
      expect(sse.apply_server_side_encryption_by_default).toEqual([{ sse_algorithm: 'AES256', kms_master_key_id: '' }]);
    }
    expect(change('aws_s3_bucket_versioning.versioning').after.versioning_configuration).toEqual([
      expect.objectContaining({ status: 'Enabled' }),
    ]);
    const rules = change('aws_s3_bucket_lifecycle_configuration.lifecycle').after.rule as TfJson[];
    expect(rules.map((r) => [r.id, r.status])).toEqual([
      ['abort-incomplete-multipart-uploads', 'Enabled'],
      ['expire-noncurrent-versions', 'Enabled'],
      ['expire-tombstones', 'Enabled'],
      ...(w.batchOperations.enabled ? [['expire-batch-operations-manifests-and-reports', 'Enabled']] : []),
    ]);
    expect(rules[2].filter).toEqual([expect.objectContaining({ tag: [{ key: 'bucketmove', value: 'tombstone' }] })]);
    expect(rules[2].expiration).toEqual([expect.objectContaining({ days: w.primary.lifecycle.tombstoneExpirationDays })]);
    expect(rules[0].abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: w.primary.lifecycle.abortIncompleteMultipartUploadDays }]);
    expect(rules[1].noncurrent_version_expiration).toEqual([
      expect.objectContaining({ noncurrent_days: w.primary.lifecycle.noncurrentVersionExpirationDays }),
    ]);
  });

  it('keeps the key pair out of the plan: the secret value is unknown until apply and marked sensitive', () => {
    const version = change('aws_secretsmanager_secret_version.app-credentials-value');
    expect(version.after_unknown.secret_string).toBe(true);
    expect(version.after_sensitive.secret_string).toBe(true);
    expect(change('aws_secretsmanager_secret.app-credentials').after.name).toBe(`bucketmove/${env}/${w.primary.appUser.name}/aws-credentials`);
  });

  it('plans the outputs: names and ARNs, none sensitive', () => {
    const outputs = plan().output_changes as Record<string, { after_sensitive: boolean }>;
    expect(Object.keys(outputs).sort()).toEqual(Object.keys(get(synth.stacks, name).output).sort());
    for (const o of Object.values(outputs)) expect(o.after_sensitive).toBe(false);
  });

  it('plans with the workspace region and default tags on every taggable resource', () => {
    expect(plan().configuration.provider_config.aws.expressions.region.constant_value).toBe(w.region);
    const bucket = change('aws_s3_bucket.bucket');
    expect(bucket.after.tags_all).toEqual({ ...w.tags, 'bucketmove:stack': name });
  });
});

describe('terraform plan of the Batch Operations resources in primary-staging', () => {
  const w = ws.staging;
  const b = w.batchOperations;
  const after = (address: string): TfJson => {
    const rc = (get(plans, 'primary-staging').resource_changes as TfJson[]).find((r) => r.address === address);
    if (!rc) throw new Error(`${address} is not in the plan`);
    return rc.change.after;
  };
  const account = w.primary.accountId;

  it('plans the function with the workspace settings, the bundle zip and its hash', () => {
    const fn = after('aws_lambda_function.batch-function');
    expect(fn).toMatchObject({
      function_name: b.functionName,
      runtime: 'nodejs24.x',
      handler: 'index.handler',
      memory_size: b.memoryMb,
      timeout: b.timeoutSeconds,
      reserved_concurrent_executions: b.reservedConcurrency,
      package_type: 'Zip',
      logging_config: [expect.objectContaining({ log_format: 'Text', log_group: `/aws/lambda/${b.functionName}` })],
      tags_all: { ...w.tags, 'bucketmove:stack': 'primary-staging' },
    });
    // Terraform hashed the zip cdktf packaged from the bundle folder: the function updates when the code changes.
    expect(zips.get('primary-staging')).toEqual([fn.source_code_hash]);
    const [{ variables }] = fn.environment;
    expect(Object.keys(variables)).toEqual(['BUCKETMOVE_WORKSPACE']);
    expect(JSON.parse(variables.BUCKETMOVE_WORKSPACE)).toMatchObject({ env: 'staging', batchOperations: { enabled: true } });
  });

  it('plans the log group with its retention and the tags', () => {
    expect(after('aws_cloudwatch_log_group.batch-log-group')).toMatchObject({
      name: `/aws/lambda/${b.functionName}`,
      retention_in_days: b.logRetentionDays,
      tags_all: { ...w.tags, 'bucketmove:stack': 'primary-staging' },
    });
  });

  it('plans both service roles with their aws:SourceAccount condition, and the writer trusting the function role', () => {
    const trust = (address: string) => JSON.parse(after(address).assume_role_policy).Statement;
    expect(trust('aws_iam_role.batch-function-role')).toEqual([
      expect.objectContaining({ Principal: { Service: ['lambda.amazonaws.com'] }, Condition: { StringEquals: { 'aws:SourceAccount': account } } }),
    ]);
    expect(trust('aws_iam_role.batch-operations-role')).toEqual([
      expect.objectContaining({
        Principal: { Service: ['batchoperations.s3.amazonaws.com'] },
        Condition: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    ]);
    expect(trust('aws_iam_role.writer-role')[0].Principal.AWS).toEqual([
      ...w.migration.principals,
      `arn:aws:iam::${account}:role/${b.functionRoleName}`,
    ]);
    expect(after('aws_iam_role.batch-function-role').name).toBe(b.functionRoleName);
    expect(after('aws_iam_role.batch-operations-role').name).toBe(b.operationsRoleName);
  });

  it('plans the expiry of the manifests and reports under the prefix', () => {
    const rules = after('aws_s3_bucket_lifecycle_configuration.lifecycle').rule as TfJson[];
    const rule = rules.find((r) => r.id === 'expire-batch-operations-manifests-and-reports')!;
    expect(rule.filter).toEqual([expect.objectContaining({ prefix: b.reportsPrefix })]);
    expect(rule.expiration).toEqual([expect.objectContaining({ days: b.reportsExpirationDays })]);
  });
});

describe('the teardown interlock of legacy-prod, enforced by Terraform (offline, state holding the imported resources)', () => {
  const imported = [
    'aws_iam_access_key.legacy-access-key-0',
    'aws_iam_user.legacy-user',
    'aws_s3_bucket.legacy-bucket',
  ];
  const actions = (plan: TfJson) =>
    Object.fromEntries((plan.resource_changes as TfJson[]).map((r) => [r.address, r.change.actions.join(',')]));

  it('without an approval, a deploy creates the reader role and leaves the legacy resources untouched', () => {
    expect(actions(teardown.get('unapproved:deploy') as TfJson)).toEqual({
      'aws_iam_role.reader-role': 'create',
      'aws_iam_role_policy.reader-role-policy': 'create',
      ...Object.fromEntries(imported.map((a) => [a, 'no-op'])),
    });
  });

  it('without an approval, a destroy is refused by prevent_destroy on the bucket, the user and its key', () => {
    const run = teardown.get('unapproved:destroy') as TfResult;
    expect(run.code).not.toBe(0);
    for (const address of imported) {
      expect(run.stderr).toContain(`Resource ${address} has lifecycle.prevent_destroy`);
    }
    expect(run.stderr.match(/Error: Instance cannot be destroyed/g)).toHaveLength(imported.length);
  });

  it('with an approval, the deploy sets force_destroy on the bucket and the user (Terraform reads it from state)', () => {
    const plan = teardown.get('approved:deploy') as TfJson;
    expect(actions(plan)).toEqual({
      'aws_iam_role.reader-role': 'create',
      'aws_iam_role_policy.reader-role-policy': 'create',
      'aws_iam_access_key.legacy-access-key-0': 'no-op',
      'aws_iam_user.legacy-user': 'update',
      'aws_s3_bucket.legacy-bucket': 'update',
    });
    for (const address of ['aws_iam_user.legacy-user', 'aws_s3_bucket.legacy-bucket']) {
      const rc = (plan.resource_changes as TfJson[]).find((r) => r.address === address)!;
      expect([rc.change.before.force_destroy, rc.change.after.force_destroy]).toEqual([false, true]);
    }
  });

  it('with an approval and force_destroy applied, destroy removes the bucket, the user and its key', () => {
    expect(actions(teardown.get('approved:destroy') as TfJson)).toEqual(Object.fromEntries(imported.map((a) => [a, 'delete'])));
  });
});
