/**
 * Offline Terraform on every synthesized stack: `terraform init -backend=false` + `terraform validate` against the
 * provider mirror; for the primary stacks also `terraform plan` with fake credentials and `terraform show -json`, with
 * assertions on the plan: the resources, no destroy or update actions, the rendered policy documents, and that no
 * planned attribute of any stack holds a secret (Terraform creates no access key and no secret value). For the legacy
 * stack, plans against states holding the imported resources: the teardown interlock, and the legacy app's access keys,
 * which no ordinary deploy destroys (a key dropped from the workspace included). Also: the move of a deployed primary
 * stack whose state holds the keys (its `removed` blocks forget them, nothing is destroyed), a CloudTrail variant of
 * the access logs, and the pinned provider's refusal of nodejs24.x (why the functions run nodejs22.x).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { loadWorkspace, type LoadedWorkspace } from '../../workspaces/load';
import { accessLogsOf, keyRotationOf } from '../../workspaces/schema';
import {
  importedLegacyState,
  linkedNotCopied,
  mustTerraform,
  offlinePlanConfig,
  pool,
  removeCliConfig,
  startFakeIam,
  terraform,
  writeRoot,
  type TfResult,
} from '../helpers/terraform';
import { cleanup, get, synthApp, tempDir, writeApprovedTeardown, type TfJson } from '../helpers/synth';
import { secretsInPlan, SECRET_ATTRIBUTES } from '../helpers/plan-secrets';

const ENVS = ['dev', 'staging', 'prod'] as const;
const ws = Object.fromEntries(ENVS.map((e) => [e, loadWorkspace(e)])) as Record<(typeof ENVS)[number], LoadedWorkspace>;

const work = tempDir('terraform');
const synth = synthApp();
const { approvalFile } = writeApprovedTeardown(work, 'prod');
const approved = synthApp({ approvalFile, envs: ['prod'] });
/** A key the legacy workspace listed once and no longer does (the app may still sign with it). */
const DROPPED_KEY = 'AKIAQ3EGRS7PRDDROPPED';

// A copy of the workspaces in which prod records CloudTrail data events instead of server access logs.
const trailDir = path.join(work, 'ws-trail');
fs.mkdirSync(trailDir);
for (const f of fs.readdirSync(path.join(__dirname, '..', '..', 'workspaces')).filter((f) => f.endsWith('.json'))) {
  fs.copyFileSync(path.join(__dirname, '..', '..', 'workspaces', f), path.join(trailDir, f));
}
const prodRaw = JSON.parse(fs.readFileSync(path.join(trailDir, 'prod.json'), 'utf8'));
prodRaw.primary.accessLogs = { type: 'cloudtrail', trailName: 'bucketmove-prod-photos' };
fs.writeFileSync(path.join(trailDir, 'prod.json'), JSON.stringify(prodRaw));
const trail = synthApp({ workspacesDir: trailDir, envs: ['prod'] });

/** Every synthesized stack, as written by the app (unmodified), plus the approved teardown variant of legacy-prod. */
const roots: [string, TfJson][] = [
  ...synth.stacks.entries(),
  ['legacy-prod-approved', get(approved.stacks, 'legacy-prod')],
  ['primary-prod-cloudtrail', get(trail.stacks, 'primary-prod')],
];
/** The folder each root was synthesized into (its assets, such as the function's zip, are copied from there). */
const synthDirs = new Map<string, string>([
  ...synth.dirs.entries(),
  ['legacy-prod-approved', get(approved.dirs, 'legacy-prod')],
  ['primary-prod-cloudtrail', get(trail.dirs, 'primary-prod')],
]);

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
    .map((f) =>
      createHash('sha256')
        .update(fs.readFileSync(path.join(assets, f)))
        .digest('base64'),
    );
}
/** The teardown interlock, exercised on legacy-prod with a state that holds the imported resources. */
const teardown = new Map<string, TfResult | TfJson>();
let fakeIam: Awaited<ReturnType<typeof startFakeIam>> | undefined;
/** The move out of state: primary-prod planned against a state holding what the stack's earlier version created. */
const moved = new Map<string, TfJson>();
/** `terraform validate` of a function on nodejs24.x with the pinned provider. */
let runtime24: TfResult | undefined;

beforeAll(async () => {
  const validateJobs = roots.map(([name, json]) => async () => {
    const dir = writeRoot(path.join(work, 'validate'), name, json, synthDirs.get(name));
    await mustTerraform(dir, ['init', '-backend=false', '-input=false']);
    const out = await mustTerraform(dir, ['validate', '-json']);
    validated.set(name, { result: JSON.parse(out), linked: linkedNotCopied(dir) });
  });
  const planJobs = ENVS.map((env) => async () => {
    const name = `primary-${env}`;
    const dir = writeRoot(
      path.join(work, 'plan'),
      name,
      offlinePlanConfig(get(synth.stacks, name)),
      get(synth.dirs, name),
    );
    zips.set(name, zipsOf(dir));
    await mustTerraform(dir, ['init', '-backend=false', '-input=false']);
    await mustTerraform(dir, ['plan', '-input=false', '-lock=false', '-out=plan.bin']);
    plans.set(name, JSON.parse(await mustTerraform(dir, ['show', '-json', 'plan.bin'])));
  });
  // The legacy stack's plans against states holding the imported resources. The workspace lists one key (A); the
  // states hold A and a key dropped from the workspace since (DROPPED), at the addresses earlier stacks gave them.
  const l = ws.prod.legacy;
  const state = (forceDestroy: boolean, ids: string[], addressed: 'index' | 'key-id') =>
    importedLegacyState({
      bucket: l.bucket,
      userName: l.appUser.name,
      userArn: `arn:aws:iam::${l.accountId}:user/${l.appUser.name}`,
      accessKeys: { ids, addressed },
      forceDestroy,
    });
  const both = [...l.appUser.accessKeyIds, DROPPED_KEY];
  const offline = ['-input=false', '-lock=false', '-refresh=false'];
  // The approved stack imports the listed key: the provider reads it from IAM, here a fake that knows both keys.
  fakeIam = await startFakeIam(l.appUser.name, both);
  const teardownPlan =
    (label: string, isApproved: boolean, tfstate: TfJson, destroy = false) =>
    async () => {
      const json = isApproved ? get(approved.stacks, 'legacy-prod') : get(synth.stacks, 'legacy-prod');
      const dir = writeRoot(path.join(work, 'teardown'), label, offlinePlanConfig(json, { iamEndpoint: fakeIam!.url }));
      await mustTerraform(dir, ['init', '-backend=false', '-input=false']);
      fs.writeFileSync(path.join(dir, 'terraform.tfstate'), JSON.stringify(tfstate));
      const args = ['plan', ...(destroy ? ['-destroy'] : []), ...offline];
      // Unapproved, a destroy must be refused: keep Terraform's answer. Otherwise the plan, as JSON.
      if (destroy && !isApproved) {
        teardown.set(label, await terraform(dir, args));
        return;
      }
      await mustTerraform(dir, [...args, '-out=plan.bin']);
      teardown.set(label, JSON.parse(await mustTerraform(dir, ['show', '-json', 'plan.bin'])));
    };
  const teardownJobs = [
    // Ordinary deploys over states from stacks that managed keys: by list index (before keys were addressed by id),
    // and by key id (an approved deploy whose approval lapsed before the destroy).
    teardownPlan('unapproved:deploy-over-index-keys', false, state(false, both, 'index')),
    teardownPlan('unapproved:deploy-over-key-id-keys', false, state(false, both, 'key-id')),
    // What `cdktf destroy legacy-prod` runs without an approval, after an ordinary deploy: refused.
    teardownPlan('unapproved:destroy', false, state(false, [], 'key-id'), true),
    // The approved deploy (sets force_destroy, imports the workspace's keys by id), over a state of a stack that
    // managed keys by index; then the destroy once force_destroy is applied.
    teardownPlan('approved:deploy', true, state(false, both, 'index')),
    teardownPlan('approved:destroy', true, state(true, l.appUser.accessKeyIds, 'key-id'), true),
  ];
  const moveJob = async () => {
    const dir = writeRoot(
      path.join(work, 'move'),
      'primary-prod',
      offlinePlanConfig(get(synth.stacks, 'primary-prod')),
      get(synth.dirs, 'primary-prod'),
    );
    await mustTerraform(dir, ['init', '-backend=false', '-input=false']);
    fs.writeFileSync(
      path.join(dir, 'terraform.tfstate'),
      JSON.stringify(stateWithTerraformKeys(ws.prod.primary.appUser.name)),
    );
    await mustTerraform(dir, ['plan', '-input=false', '-lock=false', '-refresh=false', '-out=move.bin']);
    moved.set('plan', JSON.parse(await mustTerraform(dir, ['show', '-json', 'move.bin'])));
  };
  const runtimeJob = async () => {
    const fn = get(synth.stacks, 'primary-staging').resource.aws_lambda_function['batch-function'];
    const json = offlinePlanConfig(get(synth.stacks, 'primary-staging'));
    json.resource = {
      aws_lambda_function: {
        probe: {
          ...fn,
          runtime: 'nodejs24.x',
          depends_on: undefined,
          logging_config: undefined,
          role: 'arn:aws:iam::210987654321:role/x',
        },
      },
    };
    delete json.output;
    delete json.removed;
    const dir = writeRoot(path.join(work, 'runtime'), 'nodejs24', json, get(synth.dirs, 'primary-staging'));
    await mustTerraform(dir, ['init', '-backend=false', '-input=false']);
    runtime24 = await terraform(dir, ['validate', '-json']);
  };
  // Longest jobs first, two at a time: Terraform and the provider are CPU-bound and the machine has 2 cores.
  await pool([...planJobs, ...teardownJobs, moveJob, ...validateJobs, runtimeJob], 2);
}, 600_000);

afterAll(async () => {
  await fakeIam?.close();
  cleanup(work, synth.outdir, approved.outdir, trail.outdir);
  removeCliConfig();
});

/**
 * A state (format 4) holding what `cdktf deploy primary-<env>` created before the keys left Terraform: the app user's
 * access key (its secret half in state) and the secret version built from it.
 */
function stateWithTerraformKeys(userName: string): TfJson {
  const provider = 'provider["registry.terraform.io/hashicorp/aws"]';
  const resource = (type: string, name: string, attributes: TfJson, sensitive: string[]) => ({
    mode: 'managed',
    type,
    name,
    provider,
    instances: [
      { schema_version: 0, attributes, sensitive_attributes: sensitive.map((a) => [{ type: 'get_attr', value: a }]) },
    ],
  });
  const secretArn = `arn:aws:secretsmanager:eu-west-1:210987654321:secret:bucketmove/prod/${userName}/aws-credentials-AbCdEf`;
  return {
    version: 4,
    terraform_version: '1.11.4',
    serial: 7,
    lineage: '0f1e2d3c-0000-4000-8000-000000000000',
    outputs: {},
    resources: [
      resource(
        'aws_iam_access_key',
        'app-access-key',
        {
          id: 'AKIAFROMSTATE0000001',
          user: userName,
          status: 'Active',
          secret: 'state-held-secret-half',
          ses_smtp_password_v4: 'state-held-smtp',
        },
        ['secret', 'ses_smtp_password_v4'],
      ),
      resource(
        'aws_secretsmanager_secret_version',
        'app-credentials-value',
        {
          id: `${secretArn}|v1`,
          arn: secretArn,
          secret_id: secretArn,
          version_id: 'v1',
          secret_string:
            '{"AWS_ACCESS_KEY_ID":"AKIAFROMSTATE0000001","AWS_SECRET_ACCESS_KEY":"state-held-secret-half"}',
          version_stages: ['AWSCURRENT'],
        },
        ['secret_string'],
      ),
    ],
  };
}

describe('terraform init + validate, offline, for every synthesized stack', () => {
  it('covers the six stacks, the approved teardown variant and the CloudTrail variant', () => {
    expect(roots.map(([n]) => n).sort()).toEqual([
      'legacy-dev',
      'legacy-prod',
      'legacy-prod-approved',
      'legacy-staging',
      'primary-dev',
      'primary-prod',
      'primary-prod-cloudtrail',
      'primary-staging',
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
    `aws_secretsmanager_secret.${id}-credentials`,
    // Scheduled rotation: Secrets Manager may invoke the function for this secret, every afterDays.
    ...(keyRotationOf(w).schedule
      ? [`aws_lambda_permission.${id}-key-rotation-permission`, `aws_secretsmanager_secret_rotation.${id}-key-rotation`]
      : []),
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
    ...(keyRotationOf(w).schedule
      ? [
          'aws_cloudwatch_log_group.key-rotation-log-group',
          'aws_iam_role.key-rotation-role',
          'aws_iam_role_policy.key-rotation-role-policy',
          'aws_lambda_function.key-rotation-function',
        ]
      : []),
    ...(accessLogsOf(w)
      ? [
          'aws_s3_bucket.access-log-bucket',
          'aws_s3_bucket_public_access_block.access-log-public-access-block',
          'aws_s3_bucket_ownership_controls.access-log-ownership',
          'aws_s3_bucket_server_side_encryption_configuration.access-log-encryption',
          'aws_s3_bucket_lifecycle_configuration.access-log-lifecycle',
          'aws_s3_bucket_policy.access-log-bucket-policy',
          'aws_s3_bucket_logging.access-logging',
        ]
      : []),
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
    ...(w.gateway.enabled
      ? [
          'aws_iam_role.gateway-role',
          'aws_iam_role_policy.gateway-role-policy',
          ...(w.gateway.assumedBy.type === 'ec2-instance' ? ['aws_iam_instance_profile.gateway-instance-profile'] : []),
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
    for (const rc of plan().resource_changes as TfJson[])
      expect([rc.address, rc.change.actions]).toEqual([rc.address, ['create']]);
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
        ...(accessLogsOf(w) ? ['aws_s3_bucket_policy.access-log-bucket-policy.policy'] : []),
        ...(keyRotationOf(w).schedule
          ? ['aws_iam_role.key-rotation-role.assume_role_policy', 'aws_iam_role_policy.key-rotation-role-policy.policy']
          : []),
        ...(w.batchOperations.enabled
          ? [
              'aws_iam_role.batch-function-role.assume_role_policy',
              'aws_iam_role_policy.batch-function-role-policy.policy',
              'aws_iam_role.batch-operations-role.assume_role_policy',
              'aws_iam_role_policy.batch-operations-role-policy.policy',
            ]
          : []),
        ...(w.gateway.enabled
          ? ['aws_iam_role.gateway-role.assume_role_policy', 'aws_iam_role_policy.gateway-role-policy.policy']
          : []),
      ].sort(),
    );
  });

  it('plans the bucket policy with the TLS denies and the conditional-write deny for the writer role', () => {
    const doc = JSON.parse(change('aws_s3_bucket_policy.bucket-policy').after.policy);
    const bySid = Object.fromEntries((doc.Statement as TfJson[]).map((s) => [s.Sid, s]));
    expect(bySid.DenyInsecureTransport).toMatchObject({
      Effect: 'Deny',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    expect(bySid.DenyOutdatedTls).toMatchObject({
      Effect: 'Deny',
      Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } },
    });
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
    const enc = w.primary.encryption;
    expect(bySid.DenyOtherEncryption).toMatchObject({
      Effect: 'Deny',
      Principal: '*',
      Action: ['s3:PutObject'],
      Condition: {
        Null: { 's3:x-amz-server-side-encryption': 'false' },
        StringNotEquals: { 's3:x-amz-server-side-encryption': enc.type === 'SSE-KMS' ? 'aws:kms' : 'AES256' },
      },
    });
    expect(bySid.DenyOtherKmsKey?.Condition).toEqual(
      enc.type === 'SSE-KMS'
        ? {
            Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
            StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': enc.kmsKeyArn },
          }
        : undefined,
    );
    expect(bySid.DenyCustomerProvidedKeys.Condition).toEqual({
      Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' },
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
    expect(change('aws_s3_bucket_ownership_controls.ownership').after.rule).toEqual([
      { object_ownership: 'BucketOwnerEnforced' },
    ]);
    const sse = change('aws_s3_bucket_server_side_encryption_configuration.encryption').after.rule[0];
    if (w.primary.encryption.type === 'SSE-KMS') {
      expect(sse.apply_server_side_encryption_by_default).toEqual([
        { sse_algorithm: 'aws:kms', kms_master_key_id: w.primary.encryption.kmsKeyArn },
      ]);
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
    expect(rules[2].expiration).toEqual([
      expect.objectContaining({ days: w.primary.lifecycle.tombstoneExpirationDays }),
    ]);
    expect(rules[0].abort_incomplete_multipart_upload).toEqual([
      { days_after_initiation: w.primary.lifecycle.abortIncompleteMultipartUploadDays },
    ]);
    expect(rules[1].noncurrent_version_expiration).toEqual([
      expect.objectContaining({ noncurrent_days: w.primary.lifecycle.noncurrentVersionExpirationDays }),
    ]);
  });

  it('plans no access key and no secret value: the secrets exist empty until `npm run keys` or the rotation fills them', () => {
    const types = (plan().resource_changes as TfJson[]).map((r) => r.type);
    expect(types).not.toContain('aws_iam_access_key');
    expect(types).not.toContain('aws_secretsmanager_secret_version');
    expect(change('aws_secretsmanager_secret.app-credentials').after.name).toBe(
      `bucketmove/${env}/${w.primary.appUser.name}/aws-credentials`,
    );
    expect(secretsInPlan(plan())).toEqual([]);
  });

  it(
    keyRotationOf(w).schedule
      ? 'rotates the keys on a schedule of at most 45 days (keys at most 90 days old) with the function'
      : 'schedules no rotation (dev: rotated by hand with npm run keys)',
    () => {
      const rotations = (plan().resource_changes as TfJson[]).filter(
        (r) => r.type === 'aws_secretsmanager_secret_rotation',
      );
      if (!keyRotationOf(w).schedule) {
        expect(rotations).toEqual([]);
        return;
      }
      expect(rotations.map((r) => r.change.after.rotation_rules)).toEqual([
        [expect.objectContaining({ automatically_after_days: keyRotationOf(w).afterDays })],
      ]);
      expect(keyRotationOf(w).afterDays).toBeLessThanOrEqual(45);
      expect(change('aws_lambda_function.key-rotation-function').after).toMatchObject({
        function_name: keyRotationOf(w).functionName,
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        timeout: 300,
      });
      expect(change('aws_lambda_permission.app-key-rotation-permission').after).toMatchObject({
        action: 'lambda:InvokeFunction',
        principal: 'secretsmanager.amazonaws.com',
      });
    },
  );

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
      runtime: 'nodejs22.x',
      handler: 'index.handler',
      memory_size: b.memoryMb,
      timeout: b.timeoutSeconds,
      reserved_concurrent_executions: b.reservedConcurrency,
      package_type: 'Zip',
      logging_config: [expect.objectContaining({ log_format: 'Text', log_group: `/aws/lambda/${b.functionName}` })],
      tags_all: { ...w.tags, 'bucketmove:stack': 'primary-staging' },
    });
    // Terraform hashed the zip cdktf packaged from the bundle folder: the function updates when the code changes. (The
    // stack's other zip is the key rotation function's.)
    expect(zips.get('primary-staging')!.sort()).toEqual(
      [fn.source_code_hash, after('aws_lambda_function.key-rotation-function').source_code_hash].sort(),
    );
    const [{ variables }] = fn.environment;
    expect(Object.keys(variables)).toEqual(['BUCKETMOVE_WORKSPACE']);
    expect(JSON.parse(variables.BUCKETMOVE_WORKSPACE)).toMatchObject({
      env: 'staging',
      batchOperations: { enabled: true },
    });
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
      expect.objectContaining({
        Principal: { Service: ['lambda.amazonaws.com'] },
        Condition: { StringEquals: { 'aws:SourceAccount': account } },
      }),
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

describe('no planned attribute of any stack holds a secret', () => {
  const all = () => [
    ...ENVS.map((env) => [`primary-${env}`, get(plans, `primary-${env}`)] as const),
    [
      'legacy-prod (the next deploy over imported resources, keys by index)',
      teardown.get('unapproved:deploy-over-index-keys') as TfJson,
    ] as const,
    [
      'legacy-prod (the next deploy over imported resources, keys by id)',
      teardown.get('unapproved:deploy-over-key-id-keys') as TfJson,
    ] as const,
    ['legacy-prod approved', teardown.get('approved:deploy') as TfJson] as const,
    ['primary-prod over a state that held the keys (the move)', get(moved, 'plan')] as const,
  ];

  it('walks every plan: no sensitive value, and none of the secret attributes set or to be computed', () => {
    expect(SECRET_ATTRIBUTES).toEqual([
      'secret',
      'ses_smtp_password_v4',
      'secret_string',
      'secret_binary',
      'password',
      'encrypted_secret',
      'encrypted_password',
      'private_key',
      'token',
    ]);
    for (const [name, plan] of all()) expect([name, secretsInPlan(plan)]).toEqual([name, []]);
  });

  it('the walker finds one when there is one (a plan of the stack as it was, with its key and secret version)', () => {
    const plan = get(moved, 'plan');
    const before = {
      ...plan,
      resource_changes: (plan.resource_changes as TfJson[]).map((r) => ({
        ...r,
        change: { ...r.change, after: r.change.before, after_sensitive: r.change.before_sensitive, after_unknown: {} },
      })),
    };
    expect(secretsInPlan(before)).toEqual([
      'aws_iam_access_key.app-access-key: secret (sensitive)',
      'aws_iam_access_key.app-access-key: ses_smtp_password_v4 (sensitive)',
      'aws_secretsmanager_secret_version.app-credentials-value: secret_string (sensitive)',
    ]);
  });
});

describe('the move of a deployed stack whose state holds the keys', () => {
  it('forgets the access key and the secret version (removed blocks): no delete, the key the app runs with stays', () => {
    const plan = get(moved, 'plan');
    const actions = Object.fromEntries(
      (plan.resource_changes as TfJson[]).map((r) => [r.address, r.change.actions.join(',')]),
    );
    expect(actions['aws_iam_access_key.app-access-key']).toBe('forget');
    expect(actions['aws_secretsmanager_secret_version.app-credentials-value']).toBe('forget');
    expect(Object.values(actions)).not.toContain('delete');
  });
});

describe("the functions' runtime and the pinned provider", () => {
  it('hashicorp/aws 5.100.0 refuses nodejs24.x (so the functions run nodejs22.x until the provider moves)', () => {
    expect(runtime24!.code).not.toBe(0);
    const [diagnostic] = (JSON.parse(runtime24!.stdout) as { diagnostics: { summary: string; address: string }[] })
      .diagnostics;
    expect(diagnostic.address).toBe('aws_lambda_function.probe');
    expect(diagnostic.summary).toMatch(/^expected runtime to be one of \[.*"nodejs22\.x"\], got nodejs24\.x$/);
  });
});

describe('the teardown interlock of legacy-prod, enforced by Terraform (offline, state holding the imported resources)', () => {
  const [KEY] = ws.prod.legacy.appUser.accessKeyIds;
  const keyAt = (id: string) => `aws_iam_access_key.legacy-access-key["${id}"]`;
  const plan = (label: string) => teardown.get(label) as TfJson;
  const actions = (p: TfJson) =>
    Object.fromEntries((p.resource_changes as TfJson[]).map((r) => [r.address, r.change.actions.join(',')]));
  const imports = (p: TfJson) =>
    (p.resource_changes as TfJson[]).filter((r) => r.change.importing).map((r) => [r.address, r.change.importing.id]);
  const untouched = {
    'aws_iam_role.reader-role': 'create',
    'aws_iam_role_policy.reader-role-policy': 'create',
    'aws_iam_user.legacy-user': 'no-op',
    'aws_s3_bucket.legacy-bucket': 'no-op',
  };

  it('the workspace lists one key; the states also hold a key dropped from it', () => {
    expect(ws.prod.legacy.appUser.accessKeyIds).toEqual([KEY]);
  });

  it('an ordinary deploy over keys a stack managed by list index releases both (the dropped one too), destroys none', () => {
    const p = plan('unapproved:deploy-over-index-keys');
    expect(actions(p)).toEqual({
      ...untouched,
      'aws_iam_access_key.legacy-access-key-0': 'forget',
      'aws_iam_access_key.legacy-access-key-1': 'forget',
    });
    expect(JSON.stringify(p.resource_changes)).not.toContain('"delete"');
  });

  it('an ordinary deploy over keys an approved deploy managed by key id releases both, destroys none', () => {
    const p = plan('unapproved:deploy-over-key-id-keys');
    expect(actions(p)).toEqual({ ...untouched, [keyAt(KEY)]: 'forget', [keyAt(DROPPED_KEY)]: 'forget' });
    expect(JSON.stringify(p.resource_changes)).not.toContain('"delete"');
  });

  it('without an approval, a destroy is refused by prevent_destroy on the bucket and the user', () => {
    const run = teardown.get('unapproved:destroy') as TfResult;
    expect(run.code).not.toBe(0);
    for (const address of ['aws_iam_user.legacy-user', 'aws_s3_bucket.legacy-bucket']) {
      expect(run.stderr).toContain(`Resource ${address} has lifecycle.prevent_destroy`);
    }
    expect(run.stderr.match(/Error: Instance cannot be destroyed/g)).toHaveLength(2);
  });

  it('with an approval, the deploy sets force_destroy on the bucket and the user, imports the listed key by its id, and releases index-addressed keys', () => {
    const p = plan('approved:deploy');
    expect(actions(p)).toEqual({
      'aws_iam_role.reader-role': 'create',
      'aws_iam_role_policy.reader-role-policy': 'create',
      [keyAt(KEY)]: 'no-op',
      'aws_iam_access_key.legacy-access-key-0': 'forget',
      'aws_iam_access_key.legacy-access-key-1': 'forget',
      'aws_iam_user.legacy-user': 'update',
      'aws_s3_bucket.legacy-bucket': 'update',
    });
    expect(imports(p)).toEqual([[keyAt(KEY), KEY]]);
    expect(fakeIam!.actions).toEqual(expect.arrayContaining(['GetAccessKeyLastUsed', 'ListAccessKeys']));
    for (const address of ['aws_iam_user.legacy-user', 'aws_s3_bucket.legacy-bucket']) {
      const rc = (p.resource_changes as TfJson[]).find((r) => r.address === address)!;
      expect([rc.change.before.force_destroy, rc.change.after.force_destroy]).toEqual([false, true]);
    }
  });

  it('with an approval and force_destroy applied, destroy removes the bucket, the user and its key (by key id)', () => {
    expect(actions(plan('approved:destroy'))).toEqual({
      [keyAt(KEY)]: 'delete',
      'aws_iam_user.legacy-user': 'delete',
      'aws_s3_bucket.legacy-bucket': 'delete',
    });
  });
});
