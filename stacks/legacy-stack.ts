/**
 * `legacy-<env>`: the teardown stack, in the legacy account.
 *
 * - The migration reader role, assumable by the migrator principals (in the primary account) with the ExternalId:
 *   list and read the legacy bucket only (kms:Decrypt only when `legacy.kmsKeyArn` is set). With
 *   `batchOperations.enabled`, the Batch Operations function's role (primary account) may assume it too.
 * - The legacy bucket and the legacy app's IAM user, brought under management with import blocks so that
 *   `cdktf destroy legacy-<env>` removes them once the migration is done.
 * - With `gateway.enabled`: the legacy bucket's policy grants the S3-API gateway's role (primary account) what its
 *   identity policy allows there (policies.ts legacyGatewayBucketPolicy): list, read, delete, PutObject only with
 *   `gateway.writesLegacy`. The stack then owns the bucket's policy: one the bucket had before is replaced (the plan
 *   shows it; docs/gateway.md, "The gateway's role"). Disabling the gateway, or the teardown, deletes it.
 * - The legacy app's access keys: only the teardown destroys them. An ordinary deploy does not manage them at all, so
 *   dropping a key id from `legacy.appUser.accessKeyIds` (the app may still sign with that key during dual-read) can
 *   never plan its destroy; the deploy releases (`removed`, destroy = false) whatever keys an earlier deploy managed.
 *   The approved teardown stack imports the workspace's keys, addressed by key id, so its plans name each key.
 * - The safety interlock: without a teardown approval (see approval.ts) the imported resources carry
 *   `prevent_destroy`, so Terraform itself refuses any plan that would destroy them. With an approval for this env and
 *   bucket, `prevent_destroy` is lifted and the bucket (and user) get `force_destroy`, so destroy can empty the bucket
 *   and remove credentials Terraform does not manage. Terraform reads force_destroy from state, so the approved stack
 *   must be deployed once before it is destroyed (docs/stacks.md: "Tearing down the legacy account").
 *
 * Imported resources ignore changes to their tags and to settings this stack does not own (and the provider has no
 * default tags), so deploying the stack never alters the legacy bucket or user the legacy app still relies on.
 */
import { TerraformIterator, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { IamAccessKey } from '@cdktf/provider-aws/lib/iam-access-key';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import type { Workspace } from '../workspaces/load';
import type { TeardownApproval } from './approval';
import { configureBackend, type BackendKind } from './backend';
import { migrationPrincipals } from './batch-operations';
import {
  accountRootArn,
  bucketArn,
  gatewayRoleArn,
  legacyGatewayBucketPolicy,
  migrationTrustPolicy,
  partitionOf,
  readerRolePolicy,
  renderPolicy,
} from './policies';
import { ImportedInstance, ReleasedFromState } from './state-blocks';

/** The construct id (and Terraform name) of the legacy app's access keys, one for_each instance per key id. */
export const LEGACY_KEYS = 'legacy-access-key';

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
      assumeRolePolicy: renderPolicy(
        migrationTrustPolicy({ principals: migrationPrincipals(ws), externalId: ws.migration.externalId }),
      ),
      tags,
    });
    new IamRolePolicy(this, 'reader-role-policy', {
      name: 'bucketmove-reader',
      role: reader.name,
      policy: renderPolicy(
        readerRolePolicy({
          bucketArn: legacyBucketArn,
          kms: l.kmsKeyArn ? { keyArn: l.kmsKeyArn, region } : undefined,
        }),
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

    // ---- the S3-API gateway's cross-account grant (gateway.enabled) ----
    if (ws.gateway.enabled) {
      new S3BucketPolicy(this, 'legacy-bucket-policy', {
        bucket: bucket.id,
        policy: renderPolicy(
          legacyGatewayBucketPolicy({
            legacyBucketArn,
            gatewayRoleArn: gatewayRoleArn(ws),
            gatewayAccountRoot: accountRootArn(partitionOf(ws.region), ws.primary.accountId),
            writesLegacy: ws.gateway.writesLegacy,
          }),
        ),
      });
    }

    const user = new IamUser(this, 'legacy-user', {
      name: l.appUser.name,
      forceDestroy: approved,
      lifecycle: interlock(['tags', 'path', 'permissions_boundary']),
    });
    user.importFrom(l.appUser.name);

    // ---- the legacy app's access keys: managed (and so destroyable) only in the approved teardown stack ----
    // Approved: `aws_iam_access_key.legacy-access-key["<key id>"]`, one instance per key id of the workspace, imported;
    // the user's force_destroy removes any key Terraform does not manage. Otherwise (and with no key ids): released
    // from state, never destroyed: keys an approved deploy brought in (the approval expired before the destroy), and
    // keys a stack synthesized before keys were addressed by id managed at list-index addresses
    // (`legacy-access-key-<i>`; IAM gives a user at most two access keys: IAM User Guide, "IAM and AWS STS quotas").
    const keyIds = approved ? l.appUser.accessKeyIds : [];
    if (keyIds.length) {
      const keys = new IamAccessKey(this, LEGACY_KEYS, {
        forEach: TerraformIterator.fromList(keyIds),
        user: user.name,
        // The legacy app may have deactivated a key on purpose: never flip its status.
        lifecycle: interlock(['status']),
      });
      for (const keyId of keyIds) {
        new ImportedInstance(
          this,
          `import-${keyId}`,
          { type: 'aws_iam_access_key', name: keys.friendlyUniqueId, key: keyId },
          keyId,
        );
      }
    } else {
      new ReleasedFromState(this, `release-${LEGACY_KEYS}`, `aws_iam_access_key.${LEGACY_KEYS}`);
    }
    for (const i of [0, 1])
      new ReleasedFromState(this, `release-${LEGACY_KEYS}-${i}`, `aws_iam_access_key.${LEGACY_KEYS}-${i}`);

    new TerraformOutput(this, 'reader_role_arn', { value: reader.arn, description: 'The migration reader role' });
    new TerraformOutput(this, 'legacy_bucket_arn', { value: bucket.arn, description: 'The legacy bucket' });
    new TerraformOutput(this, 'legacy_user_arn', { value: user.arn, description: 'The legacy app IAM user' });
    new TerraformOutput(this, 'teardown_approved', {
      value: approved,
      description: 'true when this stack was synthesized with a teardown approval (prevent_destroy lifted)',
    });
  }
}
