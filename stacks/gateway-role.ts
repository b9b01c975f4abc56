/**
 * The S3-API gateway's own IAM role, in the primary stack when the workspace's `gateway.enabled`
 * (workspaces/schema.ts gatewaySchema; the gateway: migrator/src/gateway, docs/gateway.md):
 *
 * - the role, trusted as `gateway.assumedBy` says (policies.ts gatewayTrustPolicy): the gateway's ECS task, its EC2
 *   instance (with an instance profile of the same name), or named principals that assume it (`--role-arn`);
 * - its policy, policies.ts gatewayPolicy: on the new bucket what the app's store does there; on the legacy bucket
 *   list, read and delete (PutObject only with `gateway.writesLegacy`), kms:Decrypt through S3 when the legacy bucket
 *   is SSE-KMS; GetSecretValue on the codec's keys and on the app's keys (`gateway.appCredentialsSecret`), when they
 *   are in Secrets Manager. The legacy bucket's half of the cross-account grant is in legacy-stack.ts.
 *
 * The role holds no key: nothing secret reaches Terraform state.
 */
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import type { Workspace } from '../workspaces/load';
import {
  bucketArn,
  codecSecretArn,
  gatewayPolicy,
  gatewayTrustPolicy,
  partitionOf,
  renderPolicy,
  secretArn,
  type SseKmsKey,
} from './policies';

export interface GatewayRoleProps {
  readonly ws: Workspace;
  readonly newBucketArn: string;
  /** The new bucket's SSE-KMS key, if any. */
  readonly kms?: SseKmsKey;
}

export class GatewayRole extends Construct {
  readonly role: IamRole;

  constructor(scope: Construct, id: string, props: GatewayRoleProps) {
    super(scope, id);
    const { ws } = props;
    const g = ws.gateway;
    const partition = partitionOf(ws.region);
    const account = ws.primary.accountId;
    const legacyRegion = ws.legacy.region ?? ws.region;
    const codec = codecSecretArn(ws);
    // The codec's keys (read with the gateway's own credentials, as the Batch Operations function reads them) and the
    // app's keys it verifies signatures against.
    const secrets = [
      ...(codec ? [codec] : []),
      ...(g.appCredentialsSecret ? [secretArn(partition, ws.region, account, g.appCredentialsSecret)] : []),
    ];

    this.role = new IamRole(this, 'role', {
      name: g.roleName,
      description: `bucketmove ${ws.env}: the S3-API gateway in front of ${ws.primary.bucket} and ${ws.legacy.bucket}`,
      assumeRolePolicy: renderPolicy(gatewayTrustPolicy({ assumedBy: g.assumedBy, account })),
    });
    this.role.overrideLogicalId('gateway-role');
    const policy = new IamRolePolicy(this, 'policy', {
      name: 'bucketmove-gateway',
      role: this.role.name,
      policy: renderPolicy(
        gatewayPolicy({
          newBucketArn: props.newBucketArn,
          kms: props.kms,
          legacy: {
            bucketArn: bucketArn(partitionOf(legacyRegion), ws.legacy.bucket),
            kms: ws.legacy.kmsKeyArn ? { keyArn: ws.legacy.kmsKeyArn, region: legacyRegion } : undefined,
            writesLegacy: g.writesLegacy,
          },
          secretArns: secrets,
        }),
      ),
    });
    policy.overrideLogicalId('gateway-role-policy');
    if (g.assumedBy.type === 'ec2-instance') {
      const profile = new IamInstanceProfile(this, 'instance-profile', { name: g.roleName, role: this.role.name });
      profile.overrideLogicalId('gateway-instance-profile');
      new TerraformOutput(scope, 'gateway_instance_profile_arn', {
        value: profile.arn,
        description: "The gateway's EC2 instance profile",
      });
    }
    new TerraformOutput(scope, 'gateway_role_arn', {
      value: this.role.arn,
      description: "The S3-API gateway's role (ECS task role, instance profile role, or --role-arn)",
    });
  }
}
