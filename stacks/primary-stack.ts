/**
 * `primary-<env>`: the new bucket and its principals, in the primary account.
 *
 * - The bucket, hardened as terraform-aws-modules/s3-bucket would: public access blocked (all four settings), object
 *   ownership BucketOwnerEnforced (ACLs off), default encryption (SSE-S3, or SSE-KMS with a bucket key), versioning,
 *   lifecycle (abort incomplete multipart uploads; expire noncurrent versions), and the bucket policy of
 *   `policies.bucketPolicy` (TLS only, TLS >= 1.2, the writer role's writes must carry If-None-Match, no write may ask
 *   for another encryption). The bucket holds patients' photos, so it also carries `prevent_destroy`.
 * - Its access logs (access-logs.ts): server access logging or a CloudTrail trail into a hardened log bucket; by
 *   default on, except in dev.
 * - The app's IAM user and the Secrets Manager secret for its access key
 *   ({"AWS_ACCESS_KEY_ID","AWS_SECRET_ACCESS_KEY"}); in the dev workspace only, a second user for local development
 *   with the same rights and its own secret. Terraform never creates a key or a secret value, so no secret is ever in
 *   its state: the keys are made and rotated by `npm run keys` and, when `primary.keyRotation.schedule`, by the
 *   rotation function (key-rotation.ts). `removed` blocks forget (without destroying) the access key and secret version
 *   an older version of this stack created, so a deployed stack moves out of them with one deploy and a rotation
 *   (docs/stacks.md, "Access keys").
 * - The migration writer role, assumable by the configured migrator principals with the ExternalId.
 * - With `batchOperations.enabled`: the S3 Batch Operations function, its role and the job role (batch-operations.ts);
 *   the writer role then also trusts the function's role, and the app's user gets nothing under the jobs' prefix.
 * - With `gateway.enabled`: the S3-API gateway's own role (gateway-role.ts), least privilege on both buckets; the
 *   legacy stack grants it the legacy bucket.
 * - Outputs: names and ARNs, never secret values.
 */
import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { IamUserPolicy } from '@cdktf/provider-aws/lib/iam-user-policy';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { TOMBSTONE } from '../workspaces/object-markers';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { type Workspace } from '../workspaces/load';
import { ConfigError } from '../workspaces/errors';
import { accessLogsOf, keyRotationOf } from '../workspaces/schema';
import { KeyRotation } from './key-rotation';
import { credentialsSecretName } from '../workspaces/key-layout';
import { AccessLogs } from './access-logs';
import { GatewayRole } from './gateway-role';
import { configureBackend, type BackendKind } from './backend';
import { batchPrefixes } from '../workspaces/batch-layout';
import { BatchOperations, batchLifecycleRule, migrationPrincipals } from './batch-operations';
import {
  appUserPolicy,
  bucketArn,
  bucketPolicy,
  iamArn,
  migrationTrustPolicy,
  partitionOf,
  renderPolicy,
  writerRolePolicy,
  type SseKmsKey,
} from './policies';

export interface PrimaryStackOptions {
  backend: BackendKind;
  /** The built bundle of the Batch Operations handler; required when the workspace enables batchOperations. */
  lambdaBundleDir?: string;
  /** The built bundle of the key rotation function; required when the workspace schedules its key rotation. */
  keyRotationBundleDir?: string;
}

export { credentialsSecretName } from '../workspaces/key-layout';

export class PrimaryStack extends TerraformStack {
  constructor(scope: Construct, id: string, ws: Workspace, options: PrimaryStackOptions) {
    super(scope, id);
    configureBackend(this, ws, 'primary', options.backend);

    const partition = partitionOf(ws.region);
    const p = ws.primary;
    new AwsProvider(this, 'aws', {
      region: ws.region,
      allowedAccountIds: [p.accountId],
      defaultTags: [{ tags: { ...ws.tags, 'bucketmove:stack': id } }],
    });

    const theBucketArn = bucketArn(partition, p.bucket);
    const writerRoleArn = iamArn(partition, p.accountId, 'role', p.writerRoleName);
    const kms: SseKmsKey | undefined =
      p.encryption.type === 'SSE-KMS' ? { keyArn: p.encryption.kmsKeyArn, region: ws.region } : undefined;
    const batch = ws.batchOperations.enabled;
    if (batch && !options.lambdaBundleDir)
      throw new ConfigError(`${id}: batchOperations is enabled but no function bundle was given`);

    // ---- the bucket ----
    const bucket = new S3Bucket(this, 'bucket', {
      bucket: p.bucket,
      forceDestroy: false,
      lifecycle: { preventDestroy: true },
    });
    const publicAccessBlock = new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: bucket.id,
      rule: [
        kms
          ? {
              applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: kms.keyArn },
              bucketKeyEnabled: p.encryption.type === 'SSE-KMS' ? p.encryption.bucketKey : false,
            }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
      ],
    });
    const versioning = new S3BucketVersioningA(this, 'versioning', {
      bucket: bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: bucket.id,
      rule: [
        {
          id: 'abort-incomplete-multipart-uploads',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: p.lifecycle.abortIncompleteMultipartUploadDays }],
        },
        {
          id: 'expire-noncurrent-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          noncurrentVersionExpiration: [{ noncurrentDays: p.lifecycle.noncurrentVersionExpirationDays }],
          // Delete markers left with no versions behind them are noise; remove them.
          expiration: [{ expiredObjectDeleteMarker: true }],
        },
        {
          // The store's tombstones (a photo deleted while the migration ran) only need to outlive the copies that were
          // in flight when it was deleted; then they go (workspaces/object-markers.ts, TOMBSTONE).
          id: 'expire-tombstones',
          status: 'Enabled',
          filter: [{ tag: [{ key: TOMBSTONE.tagKey, value: TOMBSTONE.tagValue }] }],
          expiration: [{ days: p.lifecycle.tombstoneExpirationDays }],
        },
        ...(batch ? [batchLifecycleRule(ws)] : []),
      ],
      // AWS: a lifecycle configuration on a versioned bucket must follow the versioning configuration.
      dependsOn: [versioning],
    });
    new S3BucketPolicy(this, 'bucket-policy', {
      bucket: bucket.id,
      policy: renderPolicy(
        bucketPolicy({
          bucketArn: theBucketArn,
          conditionalWriterArns: [writerRoleArn],
          encryption: kms ? { algorithm: 'aws:kms', kmsKeyArn: kms.keyArn } : { algorithm: 'AES256' },
        }),
      ),
      // Putting a policy while the public access block is being changed can conflict (as terraform-aws-modules does).
      dependsOn: [publicAccessBlock],
    });

    // ---- access logs (primary.accessLogs: server access logging or a CloudTrail trail, into a log bucket) ----
    const logs = accessLogsOf(ws);
    if (logs) {
      new AccessLogs(this, 'access-logs', {
        logs,
        partition,
        region: ws.region,
        accountId: p.accountId,
        source: bucket,
        sourceBucketName: p.bucket,
      });
    }

    // ---- the app's user, and in dev the local-development user ----
    const appUser = this.bucketUser('app', ws, p.appUser.name, theBucketArn, kms);
    new TerraformOutput(this, 'app_user_arn', { value: appUser.user.arn, description: 'The app IAM user' });
    new TerraformOutput(this, 'app_credentials_secret_arn', {
      value: appUser.secret.arn,
      description: 'Secrets Manager secret holding the app user key pair as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY',
    });
    const rotated = [
      {
        id: 'app',
        userName: p.appUser.name,
        secret: appUser.secret,
        secretName: credentialsSecretName(ws.env, p.appUser.name),
      },
    ];
    if (p.devUser) {
      const devUser = this.bucketUser('dev', ws, p.devUser.name, theBucketArn, kms);
      rotated.push({
        id: 'dev',
        userName: p.devUser.name,
        secret: devUser.secret,
        secretName: credentialsSecretName(ws.env, p.devUser.name),
      });
      new TerraformOutput(this, 'dev_user_arn', {
        value: devUser.user.arn,
        description: 'The local-development IAM user',
      });
      new TerraformOutput(this, 'dev_credentials_secret_arn', {
        value: devUser.secret.arn,
        description: 'Secrets Manager secret holding the local-development user key pair',
      });
    }

    // ---- the scheduled rotation of those keys (primary.keyRotation) ----
    if (keyRotationOf(ws).schedule) {
      if (!options.keyRotationBundleDir)
        throw new ConfigError(`${id}: the key rotation is scheduled but no function bundle was given`);
      new KeyRotation(this, 'key-rotation', { ws, bundleDir: options.keyRotationBundleDir, users: rotated });
    }

    // ---- S3 Batch Operations (the function, its role, the job role) ----
    const batchOps = batch
      ? new BatchOperations(this, 'batch-operations', {
          ws,
          bundleDir: options.lambdaBundleDir!,
          bucketArn: theBucketArn,
          writerRoleArn,
          kms,
        })
      : undefined;

    // ---- the migration writer role ----
    const writer = new IamRole(this, 'writer-role', {
      name: p.writerRoleName,
      description: `bucketmove ${ws.env}: backfills ${p.bucket} (conditional writes only) and reads it for the audit`,
      assumeRolePolicy: renderPolicy(
        migrationTrustPolicy({ principals: migrationPrincipals(ws), externalId: ws.migration.externalId }),
      ),
      // IAM refuses a trust policy that names a role which does not exist yet.
      dependsOn: batchOps ? [batchOps.functionRole] : undefined,
    });
    new IamRolePolicy(this, 'writer-role-policy', {
      name: 'bucketmove-writer',
      role: writer.name,
      policy: renderPolicy(writerRolePolicy({ bucketArn: theBucketArn, kms })),
    });

    // ---- the S3-API gateway's role (gateway.enabled) ----
    if (ws.gateway.enabled) new GatewayRole(this, 'gateway', { ws, newBucketArn: theBucketArn, kms });

    new TerraformOutput(this, 'bucket_name', { value: bucket.bucket, description: 'The new bucket' });
    new TerraformOutput(this, 'bucket_arn', { value: bucket.arn, description: 'The new bucket ARN' });
    new TerraformOutput(this, 'writer_role_arn', { value: writer.arn, description: 'The migration writer role' });
  }

  /**
   * An IAM user with the app's rights on the bucket, and the secret that will hold its key pair (empty until the
   * first rotation). The access key and secret version earlier versions of this stack created are forgotten by
   * `removed` blocks (lifecycle destroy = false): Terraform drops them from state without deleting the key the app
   * runs with; the next rotation replaces it.
   */
  private bucketUser(id: string, ws: Workspace, name: string, theBucketArn: string, kms: SseKmsKey | undefined) {
    const user = new IamUser(this, `${id}-user`, { name });
    new IamUserPolicy(this, `${id}-user-policy`, {
      name: 'bucketmove-bucket-access',
      user: user.name,
      policy: renderPolicy(
        appUserPolicy({
          bucketArn: theBucketArn,
          kms,
          excludedPrefix: ws.batchOperations.enabled ? batchPrefixes(ws).root : undefined,
        }),
      ),
    });
    const secret = new SecretsmanagerSecret(this, `${id}-credentials`, {
      name: credentialsSecretName(ws.env, name),
      description: `Access key of IAM user ${name} for bucket ${ws.primary.bucket}, as the env vars the app reads (written by npm run keys and the rotation function, never by Terraform)`,
    });
    forgetWithoutDestroying(this, [
      `aws_iam_access_key.${id}-access-key`,
      `aws_secretsmanager_secret_version.${id}-credentials-value`,
    ]);
    return { user, secret };
  }
}

/**
 * Terraform `removed` blocks (Terraform 1.7+, "Removing resources"): the resources at these addresses leave the state
 * without being destroyed. An address not in the state is nothing to do. cdktf 0.21 has no construct for them, so they
 * go in as an override of the stack's top-level `removed` list.
 */
function forgetWithoutDestroying(stack: TerraformStack, addresses: readonly string[]): void {
  const blocks = addresses.map((from) => ({ from, lifecycle: { destroy: false } }));
  removedBlocks.set(stack, [...(removedBlocks.get(stack) ?? []), ...blocks]);
  stack.addOverride('removed', removedBlocks.get(stack));
}
const removedBlocks = new WeakMap<TerraformStack, { from: string; lifecycle: { destroy: boolean } }[]>();
