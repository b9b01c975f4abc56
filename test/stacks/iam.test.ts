/**
 * The IAM allow/deny matrix: every request below is evaluated by @cloud-copilot/iam-simulate against the policies as
 * rendered in the synthesized stacks (identity policies, the bucket policy, trust policies), as AWS would evaluate
 * them. The account ids, bucket names and principals are those of workspaces/*.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { PolicyDocument } from '../../stacks/policies';
import { loadWorkspace, workspacesDir } from '../../workspaces/load';
import { allPolicyDocuments, decide, must, renderedPolicies, type Decision, type Request } from '../helpers/iam';
import { cleanup, get, synthApp, tempDir } from '../helpers/synth';

const synth = synthApp();
const ws = {
  dev: loadWorkspace('dev'),
  staging: loadWorkspace('staging'),
  prod: loadWorkspace('prod'),
};
const PRIMARY = ws.prod.primary.accountId;
const LEGACY = ws.prod.legacy.accountId;
const prodKey = ws.prod.primary.encryption.type === 'SSE-KMS' ? ws.prod.primary.encryption.kmsKeyArn : '';
const stagingKey = ws.staging.primary.encryption.type === 'SSE-KMS' ? ws.staging.primary.encryption.kmsKeyArn : '';

const rendered = {
  primaryDev: renderedPolicies(get(synth.stacks, 'primary-dev')),
  primaryStaging: renderedPolicies(get(synth.stacks, 'primary-staging')),
  primaryProd: renderedPolicies(get(synth.stacks, 'primary-prod')),
  legacyProd: renderedPolicies(get(synth.stacks, 'legacy-prod')),
  legacyStaging: renderedPolicies(get(synth.stacks, 'legacy-staging')),
  legacyDev: renderedPolicies(get(synth.stacks, 'legacy-dev')),
};

// A second synth from a copy of the workspaces in which the staging legacy bucket is SSE-KMS encrypted, to check the
// reader role's kms:Decrypt (it must appear only when legacy.kmsKeyArn is set).
const LEGACY_KMS_KEY = `arn:aws:kms:eu-west-1:${LEGACY}:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d`;
const kmsDir = tempDir('ws-legacy-kms');
for (const f of fs.readdirSync(workspacesDir()).filter((f) => f.endsWith('.json'))) {
  fs.copyFileSync(path.join(workspacesDir(), f), path.join(kmsDir, f));
}
const stagingRaw = JSON.parse(fs.readFileSync(path.join(kmsDir, 'staging.json'), 'utf8'));
stagingRaw.legacy.kmsKeyArn = LEGACY_KMS_KEY;
fs.writeFileSync(path.join(kmsDir, 'staging.json'), JSON.stringify(stagingRaw));
const kmsSynth = synthApp({ workspacesDir: kmsDir, envs: ['staging'] });
const legacyStagingKms = renderedPolicies(get(kmsSynth.stacks, 'legacy-staging'));

afterAll(() => {
  cleanup(synth.outdir, kmsSynth.outdir, kmsDir);
});

// ---- the actors, with their policies as rendered ----

const userArn = (name: string) => `arn:aws:iam::${PRIMARY}:user/${name}`;
const roleArn = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
const session = (account: string, name: string) => `arn:aws:sts::${account}:assumed-role/${name}/bucketmove-session`;

function user(policies: ReturnType<typeof renderedPolicies>, name: string) {
  return { principal: userArn(name), principalArn: userArn(name), identityPolicies: must(policies.users, name) };
}
function role(policies: ReturnType<typeof renderedPolicies>, account: string, name: string) {
  return {
    principal: session(account, name),
    principalArn: roleArn(account, name),
    identityPolicies: must(policies.roles, name).policies,
  };
}

const prodApp = user(rendered.primaryProd, ws.prod.primary.appUser.name);
const stagingApp = user(rendered.primaryStaging, ws.staging.primary.appUser.name);
const devApp = user(rendered.primaryDev, ws.dev.primary.appUser.name);
const devLocal = user(rendered.primaryDev, ws.dev.primary.devUser!.name);
const prodWriter = role(rendered.primaryProd, PRIMARY, ws.prod.primary.writerRoleName);
const devWriter = role(rendered.primaryDev, PRIMARY, ws.dev.primary.writerRoleName);
const prodReader = role(rendered.legacyProd, LEGACY, ws.prod.legacy.readerRoleName);
const stagingKmsReader = role(legacyStagingKms, LEGACY, ws.staging.legacy.readerRoleName);

// The migrator's own identity policy (in the primary account, not managed by these stacks): it may call AssumeRole on
// the two migration roles; whether the call succeeds is up to each role's trust policy.
const migratorPolicy = (roles: string[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Sid: 'AssumeMigrationRoles', Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: roles }],
});
const prodMigratorRoleName = ws.prod.migration.principals[0].split('/').pop()!;
const devMigratorRoleName = ws.dev.migration.principals[0].split('/').pop()!;

// KMS keys are not managed by these stacks; their key policy is AWS's default, which delegates to IAM in the account.
const defaultKeyPolicy = (account: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'EnableIamPolicies',
      Effect: 'Allow',
      Principal: { AWS: [`arn:aws:iam::${account}:root`] },
      Action: ['kms:*'],
      Resource: ['*'],
    },
  ],
});

// ---- resources ----
const bucket = (w: typeof ws.prod) => `arn:aws:s3:::${w.primary.bucket}`;
const object = (w: typeof ws.prod, key = 'photos/p1/x-ray.jpg') => `${bucket(w)}/${key}`;
const legacyBucket = (w: typeof ws.prod) => `arn:aws:s3:::${w.legacy.bucket}`;
const legacyObject = (w: typeof ws.prod) => `${legacyBucket(w)}/photos/p1/x-ray.jpg`;
const bucketPolicyOf = (w: 'dev' | 'staging' | 'prod') =>
  ({ dev: rendered.primaryDev, staging: rendered.primaryStaging, prod: rendered.primaryProd })[w].bucketPolicy;

/**
 * What S3 sends KMS for an object of `bucketArnValue` with an S3 Bucket Key: through S3, the bucket's ARN as context.
 */
const viaS3 = (bucketArnValue: string) => ({
  'kms:ViaService': 's3.eu-west-1.amazonaws.com',
  'kms:EncryptionContext:aws:s3:arn': bucketArnValue,
});
/**
 * The encryption headers of a write (PutObject, CopyObject, CreateMultipartUpload; parts and completions send none).
 */
const sse = (algorithm: string, kmsKeyId?: string) => ({
  's3:x-amz-server-side-encryption': algorithm,
  ...(kmsKeyId ? { 's3:x-amz-server-side-encryption-aws-kms-key-id': kmsKeyId } : {}),
});
const sseC = { 's3:x-amz-server-side-encryption-customer-algorithm': 'AES256' };
const creates = { 's3:ObjectCreationOperation': 'true' }; // PutObject, CompleteMultipartUpload
const part = { 's3:ObjectCreationOperation': 'false' }; // CreateMultipartUpload, UploadPart, UploadPartCopy
const ifNoneMatch = { 's3:if-none-match': '*' };
const ifMatchCopy = { 's3:if-match': '"9b2cf535f27731c974343645a3985328"' }; // DeleteObject naming the ETag of the copy

type Actor = Pick<Request, 'principal' | 'principalArn' | 'identityPolicies'>;
interface Case {
  name: string;
  actor: Actor;
  action: string;
  resource: string;
  account: string;
  resourcePolicy?: PolicyDocument;
  context?: Record<string, string>;
  expected: Decision;
}
/** Where a request goes: the resource's account, and its resource-based policy if it has one. */
type Where = Pick<Case, 'account' | 'resourcePolicy'>;
const onPrimary = (w: 'dev' | 'staging' | 'prod'): Where => ({ account: PRIMARY, resourcePolicy: bucketPolicyOf(w) });
const [onDev, onStaging, onProd] = (['dev', 'staging', 'prod'] as const).map(onPrimary);
const inPrimary: Where = { account: PRIMARY };
const inLegacy: Where = { account: LEGACY };
/** A KMS key of the account, under AWS's default key policy. */
const primaryKeys: Where = { account: PRIMARY, resourcePolicy: defaultKeyPolicy(PRIMARY) };
const legacyKeys: Where = { account: LEGACY, resourcePolicy: defaultKeyPolicy(LEGACY) };

/** One request of an actor and the decision expected: the columns of the matrix (`context`: the request's keys). */
type Row = readonly [
  name: string,
  action: string,
  resource: string,
  where: Where,
  expected: Decision,
  context?: Record<string, string>,
];
function casesOf(actor: Actor, rows: readonly Row[]): Case[] {
  return rows.map(([name, action, resource, where, expected, context]) => ({
    name,
    actor,
    action,
    resource,
    account: where.account,
    resourcePolicy: where.resourcePolicy,
    context,
    expected,
  }));
}

const cases: Case[] = [
  // -- the app user: read, write, list, delete on its own bucket; nothing else
  ...casesOf(prodApp, [
    ['prod app user reads an object of its bucket', 's3:GetObject', object(ws.prod), onProd, 'Allowed'],
    [
      'prod app user writes an object (no If-None-Match needed)',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'Allowed',
      creates,
    ],
    ['prod app user uploads a multipart part', 's3:PutObject', object(ws.prod), onProd, 'Allowed', part],
    ['prod app user deletes an object', 's3:DeleteObject', object(ws.prod), onProd, 'Allowed'],
    [
      'prod app user tags what it writes (the tombstones of deleted photos)',
      's3:PutObjectTagging',
      object(ws.prod),
      onProd,
      'Allowed',
    ],
    [
      'prod app user cannot tag objects of another bucket',
      's3:PutObjectTagging',
      object(ws.staging),
      onStaging,
      'ImplicitlyDenied',
    ],
    ['prod app user lists its bucket', 's3:ListBucket', bucket(ws.prod), onProd, 'Allowed'],
    ['prod app user aborts its multipart upload', 's3:AbortMultipartUpload', object(ws.prod), onProd, 'Allowed'],
    [
      'prod app user cannot delete an object version for good',
      's3:DeleteObjectVersion',
      object(ws.prod),
      onProd,
      'ImplicitlyDenied',
    ],
    ['prod app user cannot read the staging bucket', 's3:GetObject', object(ws.staging), onStaging, 'ImplicitlyDenied'],
    [
      'prod app user cannot write another bucket',
      's3:PutObject',
      'arn:aws:s3:::someone-elses-bucket/x',
      inPrimary,
      'ImplicitlyDenied',
      creates,
    ],
    [
      'prod app user cannot list another bucket',
      's3:ListBucket',
      'arn:aws:s3:::someone-elses-bucket',
      inPrimary,
      'ImplicitlyDenied',
    ],
    [
      'prod app user cannot read the legacy bucket',
      's3:GetObject',
      legacyObject(ws.prod),
      inLegacy,
      'ImplicitlyDenied',
    ],
    [
      'prod app user cannot replace the bucket policy',
      's3:PutBucketPolicy',
      bucket(ws.prod),
      onProd,
      'ImplicitlyDenied',
    ],
    [
      'prod app user cannot delete the bucket policy',
      's3:DeleteBucketPolicy',
      bucket(ws.prod),
      onProd,
      'ImplicitlyDenied',
    ],
    ['prod app user cannot read the bucket policy', 's3:GetBucketPolicy', bucket(ws.prod), onProd, 'ImplicitlyDenied'],
    ['prod app user cannot delete the bucket', 's3:DeleteBucket', bucket(ws.prod), onProd, 'ImplicitlyDenied'],
    ['prod app user cannot suspend versioning', 's3:PutBucketVersioning', bucket(ws.prod), onProd, 'ImplicitlyDenied'],
    [
      'prod app user cannot change default encryption',
      's3:PutEncryptionConfiguration',
      bucket(ws.prod),
      onProd,
      'ImplicitlyDenied',
    ],
    [
      'prod app user cannot change the lifecycle',
      's3:PutLifecycleConfiguration',
      bucket(ws.prod),
      onProd,
      'ImplicitlyDenied',
    ],
    [
      'prod app user cannot lift the public access block',
      's3:PutBucketPublicAccessBlock',
      bucket(ws.prod),
      onProd,
      'ImplicitlyDenied',
    ],
    [
      'prod app user cannot make itself a new access key',
      'iam:CreateAccessKey',
      prodApp.principalArn,
      inPrimary,
      'ImplicitlyDenied',
    ],
    [
      'prod app user uses the bucket key through S3',
      'kms:GenerateDataKey',
      prodKey,
      primaryKeys,
      'Allowed',
      viaS3(bucket(ws.prod)),
    ],
    ['prod app user cannot use the bucket key directly', 'kms:Decrypt', prodKey, primaryKeys, 'ImplicitlyDenied'],
    [
      'prod app user cannot use the staging key',
      'kms:Decrypt',
      stagingKey,
      primaryKeys,
      'ImplicitlyDenied',
      viaS3(bucket(ws.prod)),
    ],
  ]),
  ...casesOf(stagingApp, [
    ['staging app user reads its bucket', 's3:GetObject', object(ws.staging), onStaging, 'Allowed'],
    [
      'staging app user cannot write the prod bucket',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'ImplicitlyDenied',
      creates,
    ],
  ]),

  // -- transport: plain HTTP and TLS < 1.2 are denied by the bucket policy, whoever asks
  ...casesOf(prodApp, [
    [
      'a plain-HTTP read is denied',
      's3:GetObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      { 'aws:SecureTransport': 'false' },
    ],
  ]),
  ...casesOf(devApp, [
    [
      'a plain-HTTP list is denied',
      's3:ListBucket',
      bucket(ws.dev),
      onDev,
      'ExplicitlyDenied',
      { 'aws:SecureTransport': 'false' },
    ],
  ]),
  ...casesOf(prodApp, [
    [
      'a read over TLS 1.0 is denied',
      's3:GetObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      { 's3:TlsVersion': '1.0' },
    ],
    [
      'a write over TLS 1.1 is denied',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      { ...creates, 's3:TlsVersion': '1.1' },
    ],
    ['a read over TLS 1.2 is allowed', 's3:GetObject', object(ws.prod), onProd, 'Allowed', { 's3:TlsVersion': '1.2' }],
  ]),
  ...casesOf(prodWriter, [
    [
      'a plain-HTTP conditional write by the writer is denied',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      { ...creates, ...ifNoneMatch, 'aws:SecureTransport': 'false' },
    ],
  ]),

  // -- server-side encryption: the bucket policy refuses a write that asks for another encryption, whoever asks
  ...casesOf(prodApp, [
    [
      "prod app user writes with SSE-KMS and the bucket's key",
      's3:PutObject',
      object(ws.prod),
      onProd,
      'Allowed',
      { ...creates, ...sse('aws:kms', prodKey) },
    ],
    [
      'prod app user cannot write asking for SSE-S3 (the bucket is SSE-KMS)',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      { ...creates, ...sse('AES256') },
    ],
    [
      'prod app user cannot write asking for DSSE-KMS',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      { ...creates, ...sse('aws:kms:dsse', prodKey) },
    ],
    [
      "prod app user cannot write with another KMS key (staging's)",
      's3:PutObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      { ...creates, ...sse('aws:kms', stagingKey) },
    ],
    [
      'prod app user cannot write with a key of its own (SSE-C)',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      { ...creates, ...sseC },
    ],
    [
      "a write with no encryption header is not refused by the policy: the bucket's default encryption (the same key) applies",
      's3:PutObject',
      object(ws.prod),
      onProd,
      'Allowed',
      creates,
    ],
  ]),
  ...casesOf(prodWriter, [
    [
      'writer cannot write a conditional PUT with another KMS key',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      { ...creates, ...ifNoneMatch, ...sse('aws:kms', stagingKey) },
    ],
    [
      "writer writes a conditional PUT with the bucket's key",
      's3:PutObject',
      object(ws.prod),
      onProd,
      'Allowed',
      { ...creates, ...ifNoneMatch, ...sse('aws:kms', prodKey) },
    ],
    [
      "writer starts a multipart upload (CreateMultipartUpload carries the header) with the bucket's key",
      's3:PutObject',
      object(ws.prod, 'photos/big.jpg'),
      onProd,
      'Allowed',
      { ...part, ...sse('aws:kms', prodKey) },
    ],
    [
      'writer cannot start a multipart upload with another KMS key',
      's3:PutObject',
      object(ws.prod, 'photos/big.jpg'),
      onProd,
      'ExplicitlyDenied',
      { ...part, ...sse('aws:kms', stagingKey) },
    ],
    [
      'writer cannot start a multipart upload asking for SSE-S3',
      's3:PutObject',
      object(ws.prod, 'photos/big.jpg'),
      onProd,
      'ExplicitlyDenied',
      { ...part, ...sse('AES256') },
    ],
    [
      'writer completes a multipart upload with If-None-Match (a completion carries no encryption header)',
      's3:PutObject',
      object(ws.prod, 'photos/big.jpg'),
      onProd,
      'Allowed',
      { ...creates, ...ifNoneMatch },
    ],
  ]),
  ...casesOf(devApp, [
    [
      'dev app user writes with SSE-S3',
      's3:PutObject',
      object(ws.dev),
      onDev,
      'Allowed',
      { ...creates, ...sse('AES256') },
    ],
    [
      'dev app user cannot write asking for SSE-KMS (the bucket is SSE-S3)',
      's3:PutObject',
      object(ws.dev),
      onDev,
      'ExplicitlyDenied',
      { ...creates, ...sse('aws:kms', prodKey) },
    ],
  ]),
  ...casesOf(devLocal, [
    [
      'dev local user cannot write with SSE-C',
      's3:PutObject',
      object(ws.dev),
      onDev,
      'ExplicitlyDenied',
      { ...creates, ...sseC },
    ],
  ]),
  ...casesOf(devWriter, [
    [
      'dev writer cannot upload asking for SSE-KMS',
      's3:PutObject',
      object(ws.dev),
      onDev,
      'ExplicitlyDenied',
      { ...creates, ...ifNoneMatch, ...sse('aws:kms', prodKey) },
    ],
  ]),
  ...casesOf(prodApp, [
    [
      "prod app user uses the key through S3 for an object without a bucket key (the object's ARN as context)",
      'kms:Decrypt',
      prodKey,
      primaryKeys,
      'Allowed',
      viaS3(object(ws.prod)),
    ],
    [
      'prod app user cannot use the bucket key through S3 for another bucket (encryption context)',
      'kms:Decrypt',
      prodKey,
      primaryKeys,
      'ImplicitlyDenied',
      viaS3(bucket(ws.staging)),
    ],
  ]),
  ...casesOf(prodWriter, [
    [
      'writer cannot generate data keys through S3 for an object of another bucket',
      'kms:GenerateDataKey',
      prodKey,
      primaryKeys,
      'ImplicitlyDenied',
      viaS3(object(ws.staging)),
    ],
  ]),
  ...casesOf(stagingKmsReader, [
    [
      'reader with legacy.kmsKeyArn cannot decrypt objects of another bucket through S3',
      'kms:Decrypt',
      LEGACY_KMS_KEY,
      legacyKeys,
      'ImplicitlyDenied',
      viaS3(legacyBucket(ws.prod)),
    ],
  ]),

  // -- the dev workspace's local-development user: the dev bucket only
  ...casesOf(devLocal, [
    ['dev local user reads the dev bucket', 's3:GetObject', object(ws.dev), onDev, 'Allowed'],
    ['dev local user writes the dev bucket', 's3:PutObject', object(ws.dev), onDev, 'Allowed', creates],
    ['dev local user deletes in the dev bucket', 's3:DeleteObject', object(ws.dev), onDev, 'Allowed'],
    ['dev local user lists the dev bucket', 's3:ListBucket', bucket(ws.dev), onDev, 'Allowed'],
    ['dev local user cannot read the prod bucket', 's3:GetObject', object(ws.prod), onProd, 'ImplicitlyDenied'],
    [
      'dev local user cannot list the staging bucket',
      's3:ListBucket',
      bucket(ws.staging),
      onStaging,
      'ImplicitlyDenied',
    ],
    [
      'dev local user cannot touch the dev bucket policy',
      's3:PutBucketPolicy',
      bucket(ws.dev),
      onDev,
      'ImplicitlyDenied',
    ],
  ]),
  ...casesOf(devApp, [
    ['dev app user cannot write the prod bucket', 's3:PutObject', object(ws.prod), onProd, 'ImplicitlyDenied', creates],
  ]),

  // -- the migration writer role: conditional writes only, read for the audit, delete only to undo a raced copy
  ...casesOf(prodWriter, [
    [
      'writer cannot PutObject without If-None-Match',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'ExplicitlyDenied',
      creates,
    ],
    [
      'writer can PutObject with If-None-Match: *',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'Allowed',
      { ...creates, ...ifNoneMatch },
    ],
    [
      'writer can upload multipart parts (no conditional header exists for them)',
      's3:PutObject',
      object(ws.prod),
      onProd,
      'Allowed',
      part,
    ],
    [
      'writer cannot complete a multipart upload without If-None-Match',
      's3:PutObject',
      object(ws.prod, 'photos/big.jpg'),
      onProd,
      'ExplicitlyDenied',
      creates,
    ],
  ]),
  ...casesOf(devWriter, [
    [
      'dev writer cannot PutObject without If-None-Match either',
      's3:PutObject',
      object(ws.dev),
      onDev,
      'ExplicitlyDenied',
      creates,
    ],
    [
      'dev writer can PutObject with If-None-Match: *',
      's3:PutObject',
      object(ws.dev),
      onDev,
      'Allowed',
      { ...creates, ...ifNoneMatch },
    ],
  ]),
  ...casesOf(prodWriter, [
    ['writer reads objects for the audit', 's3:GetObject', object(ws.prod), onProd, 'Allowed'],
    ['writer lists the bucket for the audit', 's3:ListBucket', bucket(ws.prod), onProd, 'Allowed'],
  ]),
  // Its one delete undoes its own copy: If-Match on the ETag of the copy it just read (S3 refuses the delete with 412
  // once the key holds anything else, such as the app's write). IAM cannot name "its own objects" (DeleteObject takes
  // no tag or metadata condition: stacks/perms.ts WRITER_UNDO_ACTIONS), so what IAM enforces is: no blind delete, no
  // wildcard If-Match, no version delete, no listing of versions.
  ...casesOf(prodWriter, [
    [
      'writer may undo its own copy: DeleteObject with If-Match on the ETag it read',
      's3:DeleteObject',
      object(ws.prod),
      onProd,
      'Allowed',
      ifMatchCopy,
    ],
  ]),
  ...casesOf(devWriter, [
    ['dev writer may undo its own copy the same way', 's3:DeleteObject', object(ws.dev), onDev, 'Allowed', ifMatchCopy],
  ]),
  ...casesOf(prodWriter, [
    [
      "writer may not delete without If-Match (a blind delete of the app's object, the first half of delete-then-put)",
      's3:DeleteObject',
      object(ws.prod),
      onProd,
      'ImplicitlyDenied',
    ],
    [
      "writer may not delete with If-Match: * (whatever the key holds, the app's object included)",
      's3:DeleteObject',
      object(ws.prod),
      onProd,
      'ImplicitlyDenied',
      { 's3:if-match': '*' },
    ],
    [
      'writer may not delete a version for good, even one it names',
      's3:DeleteObjectVersion',
      object(ws.prod),
      onProd,
      'ImplicitlyDenied',
      { 's3:versionid': 'vY7Uq0s0nY7Uq0s0nY7Uq0s0nY7Uq0s0' },
    ],
    ['writer may not list object versions', 's3:ListBucketVersions', bucket(ws.prod), onProd, 'ImplicitlyDenied'],
    [
      'writer may not read an old version of an object',
      's3:GetObjectVersion',
      object(ws.prod),
      onProd,
      'ImplicitlyDenied',
    ],
    ['writer cannot tag objects', 's3:PutObjectTagging', object(ws.prod), onProd, 'ImplicitlyDenied'],
    [
      'writer cannot delete in the staging bucket, even with If-Match',
      's3:DeleteObject',
      object(ws.staging),
      onStaging,
      'ImplicitlyDenied',
      ifMatchCopy,
    ],
    [
      'writer cannot write the staging bucket',
      's3:PutObject',
      object(ws.staging),
      onStaging,
      'ImplicitlyDenied',
      { ...creates, ...ifNoneMatch },
    ],
    ['writer cannot change the bucket policy', 's3:PutBucketPolicy', bucket(ws.prod), onProd, 'ImplicitlyDenied'],
    [
      'writer generates data keys with the bucket key through S3',
      'kms:GenerateDataKey',
      prodKey,
      primaryKeys,
      'Allowed',
      viaS3(bucket(ws.prod)),
    ],
    [
      'writer decrypts with the bucket key through S3',
      'kms:Decrypt',
      prodKey,
      primaryKeys,
      'Allowed',
      viaS3(bucket(ws.prod)),
    ],
    [
      'writer has no kms:Encrypt (S3 does not need it)',
      'kms:Encrypt',
      prodKey,
      primaryKeys,
      'ImplicitlyDenied',
      viaS3(bucket(ws.prod)),
    ],
    [
      'writer cannot use another key',
      'kms:Decrypt',
      stagingKey,
      primaryKeys,
      'ImplicitlyDenied',
      viaS3(bucket(ws.prod)),
    ],
  ]),
  ...casesOf(devWriter, [
    [
      'dev writer (SSE-S3) has no KMS rights at all',
      'kms:GenerateDataKey',
      prodKey,
      primaryKeys,
      'ImplicitlyDenied',
      viaS3(bucket(ws.dev)),
    ],
  ]),

  // -- the migration reader role in the legacy account: list and read the legacy bucket only
  ...casesOf(prodReader, [
    ['reader reads a legacy object', 's3:GetObject', legacyObject(ws.prod), inLegacy, 'Allowed'],
    ['reader reads a legacy object version', 's3:GetObjectVersion', legacyObject(ws.prod), inLegacy, 'Allowed'],
    ['reader lists the legacy bucket', 's3:ListBucket', legacyBucket(ws.prod), inLegacy, 'Allowed'],
    [
      'reader cannot write the legacy bucket',
      's3:PutObject',
      legacyObject(ws.prod),
      inLegacy,
      'ImplicitlyDenied',
      creates,
    ],
    ['reader cannot delete legacy objects', 's3:DeleteObject', legacyObject(ws.prod), inLegacy, 'ImplicitlyDenied'],
    ['reader cannot delete the legacy bucket', 's3:DeleteBucket', legacyBucket(ws.prod), inLegacy, 'ImplicitlyDenied'],
    ['reader cannot read another legacy bucket', 's3:GetObject', legacyObject(ws.dev), inLegacy, 'ImplicitlyDenied'],
    ['reader cannot read the new bucket', 's3:GetObject', object(ws.prod), onProd, 'ImplicitlyDenied'],
    [
      'reader has no KMS rights without legacy.kmsKeyArn',
      'kms:Decrypt',
      LEGACY_KMS_KEY,
      legacyKeys,
      'ImplicitlyDenied',
      viaS3(legacyBucket(ws.prod)),
    ],
  ]),
  ...casesOf(stagingKmsReader, [
    [
      'reader with legacy.kmsKeyArn decrypts through S3',
      'kms:Decrypt',
      LEGACY_KMS_KEY,
      legacyKeys,
      'Allowed',
      viaS3(legacyBucket(ws.staging)),
    ],
    [
      'reader with legacy.kmsKeyArn cannot encrypt',
      'kms:GenerateDataKey',
      LEGACY_KMS_KEY,
      legacyKeys,
      'ImplicitlyDenied',
      viaS3(legacyBucket(ws.staging)),
    ],
  ]),

  // -- access logs: only S3's logging service writes into the log bucket, only for this bucket in this account
  ...accessLogCases(),

  // -- the key rotation function's role: the rotated user's keys and secret, the Terraform Cloud token; nothing else
  ...keyRotationCases(),

  // -- trust policies: the migrator principal, with the ExternalId, and nobody else
  ...trustCases(),

  // -- S3 Batch Operations (enabled in staging only)
  ...batchCases(),

  // -- the S3-API gateway's role (enabled in staging only): both buckets, cross-account on legacy, nothing else
  ...gatewayCases(),

  // -- nobody outside the account: the bucket policy grants nothing, so another account's own Allow is not enough
  {
    name: 'a principal of another account cannot read the new bucket, even with its own Allow',
    actor: {
      principal: 'arn:aws:iam::999999999999:user/stranger',
      principalArn: 'arn:aws:iam::999999999999:user/stranger',
      identityPolicies: [
        {
          Version: '2012-10-17',
          Statement: [{ Sid: 'All', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [object(ws.prod)] }],
        },
      ],
    },
    action: 's3:GetObject',
    resource: object(ws.prod),
    ...onProd,
    expected: 'ImplicitlyDenied',
  },
];

function trustCases(): Case[] {
  const prodMigrator = {
    principal: session(PRIMARY, prodMigratorRoleName),
    principalArn: roleArn(PRIMARY, prodMigratorRoleName),
    identityPolicies: [
      migratorPolicy([
        roleArn(PRIMARY, ws.prod.primary.writerRoleName),
        roleArn(LEGACY, ws.prod.legacy.readerRoleName),
      ]),
    ],
  };
  const devMigrator = {
    principal: session(PRIMARY, devMigratorRoleName),
    principalArn: roleArn(PRIMARY, devMigratorRoleName),
    identityPolicies: [migratorPolicy([roleArn(PRIMARY, ws.prod.primary.writerRoleName)])],
  };
  const stranger = {
    principal: session(PRIMARY, 'some-other-role'),
    principalArn: roleArn(PRIMARY, 'some-other-role'),
    identityPolicies: [migratorPolicy([roleArn(PRIMARY, ws.prod.primary.writerRoleName)])],
  };
  const writerTrust = must(rendered.primaryProd.roles, ws.prod.primary.writerRoleName).trust;
  const readerTrust = must(rendered.legacyProd.roles, ws.prod.legacy.readerRoleName).trust;
  const writer = {
    resource: roleArn(PRIMARY, ws.prod.primary.writerRoleName),
    account: PRIMARY,
    resourcePolicy: writerTrust,
  };
  const reader = {
    resource: roleArn(LEGACY, ws.prod.legacy.readerRoleName),
    account: LEGACY,
    resourcePolicy: readerTrust,
  };
  const ext = { 'sts:ExternalId': ws.prod.migration.externalId };
  return [
    ...casesOf(prodMigrator, [
      [
        'the migrator assumes the writer role with the ExternalId',
        'sts:AssumeRole',
        writer.resource,
        writer,
        'Allowed',
        ext,
      ],
      [
        'the migrator cannot assume the writer role without the ExternalId',
        'sts:AssumeRole',
        writer.resource,
        writer,
        'ImplicitlyDenied',
      ],
      [
        'the migrator cannot assume the writer role with a wrong ExternalId',
        'sts:AssumeRole',
        writer.resource,
        writer,
        'ImplicitlyDenied',
        { 'sts:ExternalId': 'guess' },
      ],
    ]),
    ...casesOf(stranger, [
      [
        'another role cannot assume the writer role, ExternalId or not',
        'sts:AssumeRole',
        writer.resource,
        writer,
        'ImplicitlyDenied',
        ext,
      ],
    ]),
    ...casesOf(devMigrator, [
      [
        'the dev migrator cannot assume the prod writer role',
        'sts:AssumeRole',
        writer.resource,
        writer,
        'ImplicitlyDenied',
        ext,
      ],
    ]),
    ...casesOf(prodMigrator, [
      [
        'the migrator assumes the legacy reader role across accounts with the ExternalId',
        'sts:AssumeRole',
        reader.resource,
        reader,
        'Allowed',
        ext,
      ],
      [
        'the migrator cannot assume the reader role without the ExternalId',
        'sts:AssumeRole',
        reader.resource,
        reader,
        'ImplicitlyDenied',
      ],
    ]),
  ];
}

function accessLogCases(): Case[] {
  const w = ws.prod;
  const logBucket = `arn:aws:s3:::${w.primary.bucket}-access-logs`;
  const logObject = `${logBucket}/s3-access-logs/${PRIMARY}/eu-west-1/${w.primary.bucket}/2026/11/30/2026-11-30-10-00-00-0A1B2C3D4E5F6A7B`;
  const onLog = { account: PRIMARY, resourcePolicy: rendered.primaryProd.logBucketPolicy };
  const logging = {
    principal: 'logging.s3.amazonaws.com',
    principalArn: 'logging.s3.amazonaws.com',
    identityPolicies: [] as PolicyDocument[],
  };
  const forProd = { 'aws:SourceArn': bucket(w), 'aws:SourceAccount': PRIMARY };
  return [
    ...casesOf(logging, [
      [
        "S3 server access logging delivers the prod bucket's logs into its log bucket",
        's3:PutObject',
        logObject,
        onLog,
        'Allowed',
        { ...creates, ...forProd },
      ],
      [
        "S3 logging cannot deliver another bucket's logs there (aws:SourceArn)",
        's3:PutObject',
        logObject,
        onLog,
        'ImplicitlyDenied',
        { ...creates, ...forProd, 'aws:SourceArn': bucket(ws.staging) },
      ],
      [
        'S3 logging cannot deliver on behalf of another account (aws:SourceAccount)',
        's3:PutObject',
        logObject,
        onLog,
        'ImplicitlyDenied',
        { ...creates, ...forProd, 'aws:SourceAccount': '999999999999' },
      ],
      [
        'S3 logging cannot write outside the log prefix',
        's3:PutObject',
        `${logBucket}/elsewhere/x`,
        onLog,
        'ImplicitlyDenied',
        { ...creates, ...forProd },
      ],
      ['S3 logging cannot read the logs', 's3:GetObject', logObject, onLog, 'ImplicitlyDenied', forProd],
    ]),
    ...casesOf(prodApp, [
      [
        'the prod app user cannot write into the log bucket',
        's3:PutObject',
        logObject,
        onLog,
        'ImplicitlyDenied',
        creates,
      ],
      ['the prod app user cannot delete access logs', 's3:DeleteObject', logObject, onLog, 'ImplicitlyDenied'],
    ]),
    ...casesOf(prodWriter, [
      ['the prod writer cannot read access logs', 's3:GetObject', logObject, onLog, 'ImplicitlyDenied'],
    ]),
    ...casesOf(logging, [
      [
        'a plain-HTTP delivery is denied',
        's3:PutObject',
        logObject,
        onLog,
        'ExplicitlyDenied',
        { ...creates, ...forProd, 'aws:SecureTransport': 'false' },
      ],
    ]),
  ];
}

function keyRotationCases(): Case[] {
  const w = ws.prod;
  const fn = role(rendered.primaryProd, PRIMARY, 'bucketmove-key-rotation-prod');
  const appUserArn = userArn(w.primary.appUser.name);
  const secret = (name: string) => `arn:aws:secretsmanager:eu-west-1:${PRIMARY}:secret:${name}-Ab12Cd`;
  const appSecret = secret(`bucketmove/prod/${w.primary.appUser.name}/aws-credentials`);
  const trust = {
    resource: roleArn(PRIMARY, 'bucketmove-key-rotation-prod'),
    account: PRIMARY,
    resourcePolicy: must(rendered.primaryProd.roles, 'bucketmove-key-rotation-prod').trust,
  };
  const lambda = {
    principal: 'lambda.amazonaws.com',
    principalArn: 'lambda.amazonaws.com',
    identityPolicies: [] as PolicyDocument[],
  };
  return [
    ...casesOf(fn, [
      [
        'rotation function creates an access key for the prod app user',
        'iam:CreateAccessKey',
        appUserArn,
        inPrimary,
        'Allowed',
      ],
      ['rotation function deletes a key of the prod app user', 'iam:DeleteAccessKey', appUserArn, inPrimary, 'Allowed'],
      [
        'rotation function deactivates a key of the prod app user',
        'iam:UpdateAccessKey',
        appUserArn,
        inPrimary,
        'Allowed',
      ],
      [
        'rotation function cannot make keys for another user (the staging app user)',
        'iam:CreateAccessKey',
        userArn(ws.staging.primary.appUser.name),
        inPrimary,
        'ImplicitlyDenied',
      ],
      [
        'rotation function cannot make keys for any other user of the account',
        'iam:CreateAccessKey',
        userArn('admin'),
        inPrimary,
        'ImplicitlyDenied',
      ],
      [
        "rotation function cannot change the user's policy",
        'iam:PutUserPolicy',
        appUserArn,
        inPrimary,
        'ImplicitlyDenied',
      ],
      [
        "rotation function stages a new version of the app user's secret",
        'secretsmanager:PutSecretValue',
        appSecret,
        inPrimary,
        'Allowed',
      ],
      [
        "rotation function moves the secret's labels",
        'secretsmanager:UpdateSecretVersionStage',
        appSecret,
        inPrimary,
        'Allowed',
      ],
      [
        'rotation function reads the Terraform Cloud token',
        'secretsmanager:GetSecretValue',
        secret(w.terraformCloud!.app!.tokenSecret!),
        inPrimary,
        'Allowed',
      ],
      [
        'rotation function cannot write the Terraform Cloud token',
        'secretsmanager:PutSecretValue',
        secret(w.terraformCloud!.app!.tokenSecret!),
        inPrimary,
        'ImplicitlyDenied',
      ],
      [
        'rotation function cannot read the codec keys',
        'secretsmanager:GetSecretValue',
        secret('legacy/photo-codec-keys-prod'),
        inPrimary,
        'ImplicitlyDenied',
      ],
      ['rotation function cannot read the photos', 's3:GetObject', object(w), onProd, 'ImplicitlyDenied'],
      [
        'rotation function cannot delete the secret',
        'secretsmanager:DeleteSecret',
        appSecret,
        inPrimary,
        'ImplicitlyDenied',
      ],
    ]),
    ...casesOf(lambda, [
      [
        "Lambda assumes the rotation function's role on behalf of this account",
        'sts:AssumeRole',
        trust.resource,
        trust,
        'Allowed',
        { 'aws:SourceAccount': PRIMARY },
      ],
      [
        "Lambda cannot assume the rotation function's role on behalf of another account",
        'sts:AssumeRole',
        trust.resource,
        trust,
        'ImplicitlyDenied',
        { 'aws:SourceAccount': '999999999999' },
      ],
    ]),
  ];
}

function gatewayCases(): Case[] {
  const w = ws.staging;
  const gw = role(rendered.primaryStaging, PRIMARY, w.gateway.roleName);
  const staging = onPrimary('staging');
  // The legacy bucket is in the other account: its policy (the gateway's grant) must allow as well as the role's own.
  const onLegacy = { account: LEGACY, resourcePolicy: rendered.legacyStaging.legacyBucketPolicy };
  const secret = (name: string) => `arn:aws:secretsmanager:${w.region}:${PRIMARY}:secret:${name}-Ab12Cd`;
  const gatewayTrust = {
    resource: roleArn(PRIMARY, w.gateway.roleName),
    account: PRIMARY,
    resourcePolicy: must(rendered.primaryStaging.roles, w.gateway.roleName).trust,
  };
  const ecsTasks = {
    principal: 'ecs-tasks.amazonaws.com',
    principalArn: 'ecs-tasks.amazonaws.com',
    identityPolicies: [],
  };
  // Another role of the primary account that (by mistake) holds the gateway's own policy: the legacy bucket's policy
  // names the gateway role alone, so the other account's half is missing.
  const impostor = {
    principal: session(PRIMARY, 'not-the-gateway'),
    principalArn: roleArn(PRIMARY, 'not-the-gateway'),
    identityPolicies: gw.identityPolicies,
  };
  const migrator = {
    principal: session(PRIMARY, 'bucketmove-migrator-staging'),
    principalArn: ws.staging.migration.principals[0],
    identityPolicies: [migratorPolicy([roleArn(PRIMARY, w.gateway.roleName)])],
  };
  return [
    ...casesOf(gw, [
      ['gateway role reads a new-bucket object', 's3:GetObject', object(w), staging, 'Allowed'],
      [
        'gateway role writes a new-bucket object with the bucket key',
        's3:PutObject',
        object(w),
        staging,
        'Allowed',
        { ...creates, ...sse('aws:kms', stagingKey) },
      ],
      ['gateway role tags a tombstone it writes', 's3:PutObjectTagging', object(w), staging, 'Allowed'],
      ['gateway role deletes a new-bucket object', 's3:DeleteObject', object(w), staging, 'Allowed'],
      ['gateway role lists the new bucket', 's3:ListBucket', bucket(w), staging, 'Allowed'],
      [
        'gateway role has the new bucket key generate a data key through S3',
        'kms:GenerateDataKey',
        stagingKey,
        primaryKeys,
        'Allowed',
        viaS3(bucket(w)),
      ],
      [
        'gateway role reads a legacy object across accounts (the fallback)',
        's3:GetObject',
        legacyObject(w),
        onLegacy,
        'Allowed',
      ],
      [
        'gateway role lists the legacy bucket across accounts (the merged listing)',
        's3:ListBucket',
        legacyBucket(w),
        onLegacy,
        'Allowed',
      ],
      [
        "gateway role deletes a legacy object across accounts (the store's delete, legacy first)",
        's3:DeleteObject',
        legacyObject(w),
        onLegacy,
        'Allowed',
      ],
      [
        'gateway role cannot write the legacy bucket (writesLegacy is off)',
        's3:PutObject',
        legacyObject(w),
        onLegacy,
        'ImplicitlyDenied',
        creates,
      ],
      [
        'gateway role cannot delete the legacy bucket',
        's3:DeleteBucket',
        legacyBucket(w),
        onLegacy,
        'ImplicitlyDenied',
      ],
      [
        'gateway role cannot change the legacy bucket policy',
        's3:PutBucketPolicy',
        legacyBucket(w),
        onLegacy,
        'ImplicitlyDenied',
      ],
      [
        'gateway role cannot read the legacy bucket over plain HTTP',
        's3:GetObject',
        legacyObject(w),
        onLegacy,
        'ImplicitlyDenied',
        { 'aws:SecureTransport': 'false' },
      ],
      [
        "gateway role cannot read legacy versions (s3:GetObjectVersion is the reader role's, not the gateway's)",
        's3:GetObjectVersion',
        legacyObject(w),
        onLegacy,
        'ImplicitlyDenied',
      ],
      ['gateway role cannot delete the new bucket', 's3:DeleteBucket', bucket(w), staging, 'ImplicitlyDenied'],
      [
        'gateway role cannot read another bucket (prod)',
        's3:GetObject',
        object(ws.prod),
        onPrimary('prod'),
        'ImplicitlyDenied',
      ],
      [
        "gateway role cannot read another env's legacy bucket (prod)",
        's3:GetObject',
        legacyObject(ws.prod),
        inLegacy,
        'ImplicitlyDenied',
      ],
      [
        'gateway role cannot permanently delete a version',
        's3:DeleteObjectVersion',
        object(w),
        staging,
        'ImplicitlyDenied',
      ],
      [
        "gateway role reads the app's keys it verifies signatures against",
        'secretsmanager:GetSecretValue',
        secret(w.gateway.appCredentialsSecret!),
        inPrimary,
        'Allowed',
      ],
      [
        "gateway role cannot read the Terraform Cloud token's secret",
        'secretsmanager:GetSecretValue',
        secret(w.terraformCloud!.app!.tokenSecret!),
        inPrimary,
        'ImplicitlyDenied',
      ],
    ]),
    ...casesOf(impostor, [
      [
        "another role of the primary account with the gateway's own policy cannot read legacy (the bucket names the gateway)",
        's3:GetObject',
        legacyObject(w),
        onLegacy,
        'ImplicitlyDenied',
      ],
      [
        'the dev legacy bucket has no policy granting anyone (the gateway is off in dev)',
        's3:GetObject',
        legacyObject(ws.dev),
        { account: LEGACY, resourcePolicy: rendered.legacyDev.legacyBucketPolicy },
        'ImplicitlyDenied',
      ],
    ]),
    ...casesOf(ecsTasks, [
      [
        'ECS tasks of the primary account may run as the gateway role',
        'sts:AssumeRole',
        gatewayTrust.resource,
        gatewayTrust,
        'Allowed',
        { 'aws:SourceAccount': PRIMARY },
      ],
      [
        'ECS tasks of another account may not run as the gateway role',
        'sts:AssumeRole',
        gatewayTrust.resource,
        gatewayTrust,
        'ImplicitlyDenied',
        { 'aws:SourceAccount': '999999999999' },
      ],
    ]),
    ...casesOf(migrator, [
      [
        'the migrator principal may not assume the gateway role',
        'sts:AssumeRole',
        gatewayTrust.resource,
        gatewayTrust,
        'ImplicitlyDenied',
      ],
    ]),
  ];
}

function batchCases(): Case[] {
  const w = ws.staging;
  const b = w.batchOperations;
  const fnRole = role(rendered.primaryStaging, PRIMARY, b.functionRoleName);
  const opsRole = role(rendered.primaryStaging, PRIMARY, b.operationsRoleName);
  const writerTrust = must(rendered.primaryStaging.roles, w.primary.writerRoleName).trust;
  const readerTrust = must(rendered.legacyStaging.roles, w.legacy.readerRoleName).trust;
  const writer = {
    resource: roleArn(PRIMARY, w.primary.writerRoleName),
    account: PRIMARY,
    resourcePolicy: writerTrust,
  };
  const reader = { resource: roleArn(LEGACY, w.legacy.readerRoleName), account: LEGACY, resourcePolicy: readerTrust };
  const ext = { 'sts:ExternalId': w.migration.externalId };
  const region = w.region;
  const fnArn = `arn:aws:lambda:${region}:${PRIMARY}:function:${b.functionName}`;
  const logStream = (group: string) =>
    `arn:aws:logs:${region}:${PRIMARY}:log-group:${group}:log-stream:2026/11/26/[$LATEST]0123456789abcdef`;
  const secret = (name: string) => `arn:aws:secretsmanager:${region}:${PRIMARY}:secret:${name}-Ab12Cd`;
  const codecSecret = w.codec.keys && 'secretsManager' in w.codec.keys ? w.codec.keys.secretsManager : '';
  const under = (key: string) => object(w, `${b.reportsPrefix}${key}`);
  // The services assume the two roles; their trust policies name the service and this account as the source.
  const service = (name: string) => ({ principal: name, principalArn: name, identityPolicies: [] as PolicyDocument[] });
  const opsTrust = {
    resource: roleArn(PRIMARY, b.operationsRoleName),
    account: PRIMARY,
    resourcePolicy: must(rendered.primaryStaging.roles, b.operationsRoleName).trust,
  };
  const fnTrust = {
    resource: roleArn(PRIMARY, b.functionRoleName),
    account: PRIMARY,
    resourcePolicy: must(rendered.primaryStaging.roles, b.functionRoleName).trust,
  };
  const fromPrimary = { 'aws:SourceAccount': PRIMARY };
  // prod keeps Batch Operations off: a role of that name in the primary account (if someone made one) gets nothing.
  const prodFnRoleName = ws.prod.batchOperations.functionRoleName;
  const wouldBeProdFn = {
    principal: session(PRIMARY, prodFnRoleName),
    principalArn: roleArn(PRIMARY, prodFnRoleName),
    identityPolicies: [migratorPolicy([roleArn(LEGACY, ws.prod.legacy.readerRoleName)])],
  };
  const prodReader = {
    resource: roleArn(LEGACY, ws.prod.legacy.readerRoleName),
    account: LEGACY,
    resourcePolicy: must(rendered.legacyProd.roles, ws.prod.legacy.readerRoleName).trust,
  };
  return [
    // the function role: the two migration roles (with the ExternalId), its logs, the codec secret; nothing else
    ...casesOf(fnRole, [
      [
        'batch function role assumes the staging writer role with the ExternalId',
        'sts:AssumeRole',
        writer.resource,
        writer,
        'Allowed',
        ext,
      ],
      [
        'batch function role assumes the legacy reader role across accounts with the ExternalId',
        'sts:AssumeRole',
        reader.resource,
        reader,
        'Allowed',
        ext,
      ],
      [
        'batch function role cannot assume the writer role without the ExternalId',
        'sts:AssumeRole',
        writer.resource,
        writer,
        'ImplicitlyDenied',
      ],
      [
        'batch function role cannot assume the reader role without the ExternalId',
        'sts:AssumeRole',
        reader.resource,
        reader,
        'ImplicitlyDenied',
      ],
      [
        'batch function role cannot assume the prod writer role',
        'sts:AssumeRole',
        roleArn(PRIMARY, ws.prod.primary.writerRoleName),
        { account: PRIMARY, resourcePolicy: must(rendered.primaryProd.roles, ws.prod.primary.writerRoleName).trust },
        'ImplicitlyDenied',
        ext,
      ],
      [
        'batch function role cannot assume the Batch Operations role',
        'sts:AssumeRole',
        opsTrust.resource,
        opsTrust,
        'ImplicitlyDenied',
      ],
      [
        'batch function role cannot read the legacy bucket directly',
        's3:GetObject',
        legacyObject(w),
        inLegacy,
        'ImplicitlyDenied',
      ],
      [
        'batch function role cannot list the legacy bucket directly',
        's3:ListBucket',
        legacyBucket(w),
        inLegacy,
        'ImplicitlyDenied',
      ],
      [
        'batch function role cannot write the new bucket directly',
        's3:PutObject',
        object(w),
        onStaging,
        'ImplicitlyDenied',
        { ...creates, ...ifNoneMatch },
      ],
      [
        'batch function role cannot read the new bucket directly',
        's3:GetObject',
        object(w),
        onStaging,
        'ImplicitlyDenied',
      ],
      [
        'batch function role has no KMS rights of its own',
        'kms:Decrypt',
        stagingKey,
        primaryKeys,
        'ImplicitlyDenied',
        viaS3(bucket(w)),
      ],
      [
        'batch function role reads the codec keys secret',
        'secretsmanager:GetSecretValue',
        secret(codecSecret),
        inPrimary,
        'Allowed',
      ],
      [
        'batch function role cannot read another secret (the app user keys)',
        'secretsmanager:GetSecretValue',
        secret(`bucketmove/staging/${w.primary.appUser.name}/aws-credentials`),
        inPrimary,
        'ImplicitlyDenied',
      ],
      [
        'batch function role writes to its own log group',
        'logs:PutLogEvents',
        logStream(`/aws/lambda/${b.functionName}`),
        inPrimary,
        'Allowed',
      ],
      [
        'batch function role cannot write to the app log group',
        'logs:PutLogEvents',
        logStream(w.app.logGroup!),
        inPrimary,
        'ImplicitlyDenied',
      ],
      [
        'batch function role cannot invoke its own function',
        'lambda:InvokeFunction',
        fnArn,
        inPrimary,
        'ImplicitlyDenied',
      ],
    ]),

    // the Batch Operations role: manifests in, reports out, the one function; never the photos
    ...casesOf(opsRole, [
      ['batch operations role reads a manifest', 's3:GetObject', under('manifests/job-1.csv'), onStaging, 'Allowed'],
      [
        'batch operations role reads a version of a manifest',
        's3:GetObjectVersion',
        under('manifests/job-1.csv'),
        onStaging,
        'Allowed',
      ],
      [
        'batch operations role writes a completion report',
        's3:PutObject',
        under('reports/job-1f3c/results/a1b2.csv'),
        onStaging,
        'Allowed',
        creates,
      ],
      ['batch operations role finds the bucket region', 's3:GetBucketLocation', bucket(w), onStaging, 'Allowed'],
      [
        'batch operations role cannot write a report asking for SSE-S3 (the bucket is SSE-KMS)',
        's3:PutObject',
        under('reports/job-1f3c/results/a1b2.csv'),
        onStaging,
        'ExplicitlyDenied',
        { ...creates, ...sse('AES256') },
      ],
      ['batch operations role invokes the copy function', 'lambda:InvokeFunction', fnArn, inPrimary, 'Allowed'],
      [
        'batch operations role cannot invoke another function',
        'lambda:InvokeFunction',
        `arn:aws:lambda:${region}:${PRIMARY}:function:something-else`,
        inPrimary,
        'ImplicitlyDenied',
      ],
      ['batch operations role cannot read a photo', 's3:GetObject', object(w), onStaging, 'ImplicitlyDenied'],
      ['batch operations role cannot write a photo', 's3:PutObject', object(w), onStaging, 'ImplicitlyDenied', creates],
      [
        'batch operations role cannot write among the manifests',
        's3:PutObject',
        under('manifests/job-1.csv'),
        onStaging,
        'ImplicitlyDenied',
        creates,
      ],
      [
        'batch operations role cannot read the reports',
        's3:GetObject',
        under('reports/job-1f3c/manifest.json'),
        onStaging,
        'ImplicitlyDenied',
      ],
      [
        'batch operations role cannot delete a report',
        's3:DeleteObject',
        under('reports/job-1f3c/results/a1b2.csv'),
        onStaging,
        'ImplicitlyDenied',
      ],
      [
        'batch operations role cannot read the legacy bucket',
        's3:GetObject',
        legacyObject(w),
        inLegacy,
        'ImplicitlyDenied',
      ],
      ['batch operations role cannot list the bucket', 's3:ListBucket', bucket(w), onStaging, 'ImplicitlyDenied'],
      [
        'batch operations role uses the bucket key through S3 (manifests and reports are SSE-KMS)',
        'kms:GenerateDataKey',
        stagingKey,
        primaryKeys,
        'Allowed',
        viaS3(bucket(w)),
      ],
      [
        'batch operations role cannot use the bucket key directly',
        'kms:Decrypt',
        stagingKey,
        primaryKeys,
        'ImplicitlyDenied',
      ],
    ]),

    // who may assume them
    ...casesOf(service('batchoperations.s3.amazonaws.com'), [
      [
        'S3 Batch Operations assumes the job role on behalf of this account',
        'sts:AssumeRole',
        opsTrust.resource,
        opsTrust,
        'Allowed',
        fromPrimary,
      ],
      [
        'S3 Batch Operations cannot assume the job role on behalf of another account',
        'sts:AssumeRole',
        opsTrust.resource,
        opsTrust,
        'ImplicitlyDenied',
        { 'aws:SourceAccount': '999999999999' },
      ],
    ]),
    ...casesOf(service('lambda.amazonaws.com'), [
      [
        'Lambda cannot assume the job role',
        'sts:AssumeRole',
        opsTrust.resource,
        opsTrust,
        'ImplicitlyDenied',
        fromPrimary,
      ],
      [
        'Lambda assumes the function role on behalf of this account',
        'sts:AssumeRole',
        fnTrust.resource,
        fnTrust,
        'Allowed',
        fromPrimary,
      ],
      [
        'Lambda cannot assume the function role on behalf of another account',
        'sts:AssumeRole',
        fnTrust.resource,
        fnTrust,
        'ImplicitlyDenied',
        { 'aws:SourceAccount': '999999999999' },
      ],
    ]),
    ...casesOf(wouldBeProdFn, [
      [
        'the prod reader role does not trust a batch function role (Batch Operations is off in prod)',
        'sts:AssumeRole',
        prodReader.resource,
        prodReader,
        'ImplicitlyDenied',
        { 'sts:ExternalId': ws.prod.migration.externalId },
      ],
    ]),

    // the app user keeps its rights on the photos but has none under the jobs prefix
    ...casesOf(stagingApp, [
      ['staging app user still writes photos', 's3:PutObject', object(w), onStaging, 'Allowed', creates],
      [
        'staging app user cannot read a manifest',
        's3:GetObject',
        under('manifests/job-1.csv'),
        onStaging,
        'ExplicitlyDenied',
      ],
      [
        'staging app user cannot overwrite a report',
        's3:PutObject',
        under('reports/job-1f3c/results/a1b2.csv'),
        onStaging,
        'ExplicitlyDenied',
        creates,
      ],
      [
        'staging app user cannot delete under the jobs prefix',
        's3:DeleteObject',
        under('manifests/job-1.csv'),
        onStaging,
        'ExplicitlyDenied',
      ],
    ]),
  ];
}

describe('IAM allow/deny matrix (iam-simulate on the rendered policies)', () => {
  it('has at least 30 cases, each with a distinct name', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { decision, ignoredContextKeys } = await decide({
      ...c.actor,
      action: c.action,
      resource: c.resource,
      resourceAccount: c.account,
      resourcePolicy: c.resourcePolicy,
      context: c.context,
    });
    // Every context key given must apply to the action, or the case would not test what it says.
    expect(ignoredContextKeys).toEqual([]);
    expect(decision).toBe(c.expected);
  });
});

describe('rendered policies: no wildcard grants', () => {
  const everyStack = [
    ...synth.stacks.entries(),
    ...[...kmsSynth.stacks.entries()].map(([name, json]) => [`${name} (legacy SSE-KMS variant)`, json] as const),
  ];
  const docs = everyStack.flatMap(([stack, json]) => allPolicyDocuments(json).map((d) => ({ ...d, stack })));

  it('covers every policy document of every stack', () => {
    // primary-<env>: bucket policy, writer trust, writer policy, app user policy (dev: + local-dev user policy;
    // staging, with Batch Operations: + trust and policy of the function role and of the job role);
    // legacy-<env>: reader trust, reader policy. The second synth adds primary-staging and legacy-staging again.
    // primary-staging and primary-prod log the bucket's access into a log bucket with its own policy, and rotate the
    // keys with a function whose role has a trust and a policy (dev does neither).
    const batch = 4;
    const logs = 1;
    const rotation = 2;
    // Staging also runs the S3-API gateway: its role's trust and policy, and the legacy bucket's policy granting it.
    const gateway = { primary: 2, legacy: 1 };
    const perSynth = {
      primary: 4 + logs + rotation + (4 + logs + rotation + batch + gateway.primary) + 5,
      legacy: 2 * 3 + gateway.legacy,
    };
    expect(docs.filter((d) => d.where === 'bucket policy')).toHaveLength(3 + 1);
    expect(docs.filter((d) => d.where === 'log bucket policy')).toHaveLength(2 + 1);
    expect(docs.filter((d) => d.where === 'legacy bucket policy')).toHaveLength(1 + 1);
    expect(docs.length).toBe(
      perSynth.primary + perSynth.legacy + (4 + logs + rotation + batch + gateway.primary + 2 + gateway.legacy),
    );
  });

  it.each(docs.map((d) => [`${d.stack}: ${d.where}`, d.doc] as const))(
    '%s allows no "*" action, resource or principal',
    (_w, doc) => {
      for (const s of doc.Statement) {
        expect(Object.keys(s)).not.toEqual(expect.arrayContaining(['NotAction']));
        expect(Object.keys(s)).not.toEqual(expect.arrayContaining(['NotResource']));
        expect(Object.keys(s)).not.toEqual(expect.arrayContaining(['NotPrincipal']));
        if (s.Effect !== 'Allow') continue;
        for (const action of s.Action) expect(action).not.toContain('*');
        for (const resource of s.Resource ?? []) {
          // The only wildcards allowed in an Allow: the "/*" that means "the objects of this one bucket (under this
          // prefix)", and the ":*" that means "the log streams of this one log group".
          const bounded = resource
            .replace(/^(arn:aws:s3:::[a-z0-9.-]+(\/[\w.-]+)*)\/\*$/, '$1')
            .replace(/^(arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:[\w/.-]+):\*$/, '$1');
          expect(bounded).not.toContain('*');
        }
        expect(s.Principal).not.toBe('*');
      }
    },
  );

  it("the legacy bucket's policy only allows, only over TLS, only the gateway role: it leaves the legacy app as it was", () => {
    for (const { doc } of docs.filter((d) => d.where === 'legacy bucket policy')) {
      for (const st of doc.Statement) {
        expect(st.Effect).toBe('Allow');
        expect(st.Condition).toEqual({
          ArnEquals: { 'aws:PrincipalArn': roleArn(PRIMARY, ws.staging.gateway.roleName) },
          Bool: { 'aws:SecureTransport': 'true' },
        });
      }
    }
  });

  it("every bucket policy (the log buckets' too) denies plain HTTP and TLS below 1.2 for every principal", () => {
    for (const { doc } of docs.filter((d) => d.where === 'bucket policy' || d.where === 'log bucket policy')) {
      const deny = doc.Statement.filter((s) => s.Effect === 'Deny' && s.Principal === '*');
      expect(deny).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Action: ['s3:*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          expect.objectContaining({ Action: ['s3:*'], Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } } }),
        ]),
      );
    }
  });
});
