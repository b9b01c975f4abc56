/**
 * The scheduled rotation of the users' access keys (`primary.keyRotation.schedule`, on by default except in dev), in
 * the primary stack: a Secrets Manager rotation function and a rotation schedule on each user's credentials secret.
 *
 * - The function (Lambda, the runtime of lambda-bundle.ts): the bundle of migrator/src/keys/rotation-handler.ts
 *   (`npm run build:lambda`), the workspace as JSON in BUCKETMOVE_WORKSPACE; it runs the steps of
 *   migrator/src/keys/rotation-steps.ts that Secrets Manager invokes it for, and, for the app user, writes the new key
 *   into the app's Terraform Cloud workspaces with the token in `terraformCloud.app.tokenSecret`.
 * - Its execution role: its own logs, the access keys of the rotated users, the rotation actions on their secrets,
 *   the Terraform Cloud token's secret (stacks/policies.ts keyRotationRolePolicy).
 * - One Lambda permission per secret: secretsmanager.amazonaws.com may invoke the function for that secret only
 *   (aws:SourceArn, the confused-deputy guard of the Secrets Manager User Guide, "Permissions for rotation").
 * - One rotation per secret, every `afterDays` (at most 45: a key lives two periods, and Security Hub IAM.3 flags keys
 *   older than 90 days; the replaced key stays usable one period, for the app to restart). Secrets Manager rotates at
 *   once when the rotation is configured: on the first deploy that creates the users' first keys (the secrets start
 *   empty), and after the move out of Terraform state it replaces the key that state held (docs/stacks.md, "Access
 *   keys").
 */
import { Fn, TerraformAsset, AssetType, TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import type { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { SecretsmanagerSecretRotation } from '@cdktf/provider-aws/lib/secretsmanager-secret-rotation';
import { WORKSPACE_ENV_VAR } from '../workspaces/batch-layout';
import type { Workspace } from '../workspaces/load';
import { keyRotationOf } from '../workspaces/schema';
import { LAMBDA_SERVICE, workspaceForFunction } from './batch-operations';
import { KEY_ROTATION_BUNDLE } from './lambda-bundle';
import { LAMBDA_INVOKE_ACTIONS } from './perms';
import {
  iamArn,
  keyRotationRolePolicy,
  logStreamsArn,
  partitionOf,
  renderPolicy,
  secretArn,
  serviceTrustPolicy,
} from './policies';

export const SECRETS_MANAGER_SERVICE = 'secretsmanager.amazonaws.com';

/** Time for the test step's retries while IAM propagates a new key (migrator/src/keys/prove-key.ts: about a minute). */
export const KEY_ROTATION_TIMEOUT_SECONDS = 300;

export interface KeyRotationProps {
  readonly ws: Workspace;
  readonly bundleDir: string;
  /** The users rotated, with their credentials secrets. */
  readonly users: readonly {
    readonly id: string;
    readonly userName: string;
    readonly secret: SecretsmanagerSecret;
    readonly secretName: string;
  }[];
}

export class KeyRotation extends Construct {
  readonly fn: LambdaFunction;

  constructor(scope: Construct, id: string, props: KeyRotationProps) {
    super(scope, id);
    const { ws } = props;
    const r = keyRotationOf(ws);
    const partition = partitionOf(ws.region);
    const account = ws.primary.accountId;
    const logGroupName = `/aws/lambda/${r.functionName}`;
    const tokenSecret = ws.terraformCloud?.app?.tokenSecret;

    const role = new IamRole(this, 'role', {
      name: r.functionRoleName,
      description: `bucketmove ${ws.env}: rotates the access keys of ${props.users.map((u) => u.userName).join(', ')}`,
      assumeRolePolicy: renderPolicy(
        serviceTrustPolicy({ sid: 'LambdaRunsTheRotationFunction', service: LAMBDA_SERVICE, sourceAccount: account }),
      ),
    });
    role.overrideLogicalId('key-rotation-role');
    const policy = new IamRolePolicy(this, 'role-policy', {
      name: 'bucketmove-key-rotation',
      role: role.name,
      policy: renderPolicy(
        keyRotationRolePolicy({
          logStreamsArn: logStreamsArn(partition, ws.region, account, logGroupName),
          userArns: props.users.map((u) => iamArn(partition, account, 'user', u.userName)),
          credentialsSecretArns: props.users.map((u) => secretArn(partition, ws.region, account, u.secretName)),
          tokenSecretArn: tokenSecret ? secretArn(partition, ws.region, account, tokenSecret) : undefined,
        }),
      ),
    });
    policy.overrideLogicalId('key-rotation-role-policy');

    const logGroup = new CloudwatchLogGroup(this, 'log-group', { name: logGroupName, retentionInDays: 365 });
    logGroup.overrideLogicalId('key-rotation-log-group');
    const code = new TerraformAsset(this, 'code', { path: props.bundleDir, type: AssetType.ARCHIVE });
    this.fn = new LambdaFunction(this, 'function', {
      functionName: r.functionName,
      description: `bucketmove ${ws.env}: Secrets Manager rotation of the users' access keys (npm run keys does the same by hand)`,
      role: role.arn,
      runtime: KEY_ROTATION_BUNDLE.runtime,
      handler: KEY_ROTATION_BUNDLE.handler,
      filename: code.path,
      sourceCodeHash: Fn.filebase64sha256(code.path),
      memorySize: 256,
      timeout: KEY_ROTATION_TIMEOUT_SECONDS,
      environment: { variables: { [WORKSPACE_ENV_VAR]: workspaceForFunction(ws) } },
      loggingConfig: { logFormat: 'Text', logGroup: logGroup.name },
      dependsOn: [policy, logGroup],
    });
    this.fn.overrideLogicalId('key-rotation-function');

    for (const u of props.users) {
      const permission = new LambdaPermission(this, `${u.id}-permission`, {
        statementId: `SecretsManagerRotates-${u.id}`,
        action: LAMBDA_INVOKE_ACTIONS[0],
        functionName: this.fn.functionName,
        principal: SECRETS_MANAGER_SERVICE,
        sourceArn: u.secret.arn,
      });
      permission.overrideLogicalId(`${u.id}-key-rotation-permission`);
      const rotation = new SecretsmanagerSecretRotation(this, `${u.id}-rotation`, {
        secretId: u.secret.id,
        rotationLambdaArn: this.fn.arn,
        rotationRules: { automaticallyAfterDays: r.afterDays },
        dependsOn: [permission],
      });
      rotation.overrideLogicalId(`${u.id}-key-rotation`);
    }

    new TerraformOutput(scope, 'key_rotation_function_arn', {
      value: this.fn.arn,
      description: 'The Secrets Manager rotation function of the access keys',
    });
  }
}
