/**
 * `legacy-<env>`: the teardown stack, in the legacy account.
 *
 * - The migration reader role, assumable by the migrator principals (in the primary account) with the ExternalId:
 *   list and read the legacy bucket only (kms:Decrypt only when `legacy.kmsKeyArn` is set). With
 *   `batchOperations.enabled`, the Batch Operations function's role (primary account) may assume it too.
 * - The legacy bucket, the legacy app's IAM user and its access keys, brought under management with import blocks so
 *   that `cdktf destroy legacy-<env>` removes them once the migration is done.
 * - The safety interlock: without a teardown approval (see approval.ts) the imported resources carry
 *   `prevent_destroy`, so Terraform itself refuses any plan that would destroy them. With an approval for this env and
 *   bucket, `prevent_destroy` is lifted and the bucket (and user) get `force_destroy`, so destroy can empty the bucket
 *   and remove credentials Terraform does not manage. Terraform reads force_destroy from state, so the approved stack
 *   must be deployed once before it is destroyed (README: "Tearing down the legacy account").
 *
 * Imported resources ignore changes to their tags and to settings this stack does not own (and the provider has no
 * default tags), so deploying the stack never alters the legacy bucket or user the legacy app still relies on.
 */
import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { IamAccessKey } from '@cdktf/provider-aws/lib/iam-access-key';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import type { Workspace } from '../workspaces/load';
import type { TeardownApproval } from './approval';
import { configureBackend, type BackendKind } from './backend';
import { migrationPrincipals } from './batch-operations';
import { bucketArn, migrationTrustPolicy, partitionOf, readerRolePolicy, renderPolicy } from './policies';

export interface LegacyStackOptions {
  backend: BackendKind;
  /** A teardown approval already checked against this workspace (checkTeardownApproval), or undefined. */
  approval?: TeardownApproval;
}

export class LegacyStack extends TerraformStack {
  /** Whether the interlock is lifted (the stack may be destroyed). */
  readonly teardownApproved: boolean;

  constructor(scope: Construct, id: string, ws: Workspace, options: LegacyStackOptions) {
    super(scope, id);
    configureBackend(this, ws, 'legacy', options.backend);

    const l = ws.legacy;
    const region = l.region ?? ws.region;
    const partition = partitionOf(region);
    const approved = options.approval !== undefined;
    this.teardownApproved = approved;

    // No default_tags here: they would retag the imported legacy resources. Only what this stack creates is tagged.
    new AwsProvider(this, 'aws', { region, allowedAccountIds: [l.accountId] });
    const tags = { ...ws.tags, 'bucketmove:stack': id };

    // ---- the migration reader role ----
    const legacyBucketArn = bucketArn(partition, l.bucket);
    const reader = new IamRole(this, 'reader-role', {
      name: l.readerRoleName,
      description: `bucketmove ${ws.env}: reads ${l.bucket} for the migration to the primary account`,
      // With Batch Operations enabled, the copy function's role (in the primary account) assumes this role too.
      assumeRolePolicy: renderPolicy(migrationTrustPolicy({ principals: migrationPrincipals(ws), externalId: ws.migration.externalId })),
      tags,
    });
    new IamRolePolicy(this, 'reader-role-policy', {
      name: 'bucketmove-reader',
      role: reader.name,
      policy: renderPolicy(
        readerRolePolicy({ bucketArn: legacyBucketArn, kms: l.kmsKeyArn ? { keyArn: l.kmsKeyArn, region } : undefined }),
      ),
    });

    // ---- the legacy resources, imported; protected until the teardown is approved ----
    const interlock = (ignoreChanges: string[]) => ({ preventDestroy: !approved, ignoreChanges });
    const bucket = new S3Bucket(this, 'legacy-bucket', {
      bucket: l.bucket,
      forceDestroy: approved,
      lifecycle: interlock(['tags']),
    });
    bucket.importFrom(l.bucket);

    const user = new IamUser(this, 'legacy-user', {
      name: l.appUser.name,
      forceDestroy: approved,
      lifecycle: interlock(['tags', 'path', 'permissions_boundary']),
    });
    user.importFrom(l.appUser.name);

    l.appUser.accessKeyIds.forEach((keyId, i) => {
      const key = new IamAccessKey(this, `legacy-access-key-${i}`, {
        user: user.name,
        // The legacy app may have deactivated a key on purpose: never flip its status.
        lifecycle: interlock(['status']),
      });
      key.importFrom(keyId);
    });

    new TerraformOutput(this, 'reader_role_arn', { value: reader.arn, description: 'The migration reader role' });
    new TerraformOutput(this, 'legacy_bucket_arn', { value: bucket.arn, description: 'The legacy bucket' });
    new TerraformOutput(this, 'legacy_user_arn', { value: user.arn, description: 'The legacy app IAM user' });
    new TerraformOutput(this, 'teardown_approved', {
      value: approved,
      description: 'true when this stack was synthesized with a teardown approval (prevent_destroy lifted)',
    });
  }
}
