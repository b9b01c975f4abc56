/**
 * S3 Batch Operations as the backfill's engine, in the primary stack when the workspace's `batchOperations.enabled`:
 *
 * - The copy function (Lambda, the runtime of lambda-bundle.ts): the bundle of migrator/src/batch/handler.ts
 *   (`npm run build:lambda`), packaged as a TerraformAsset; the workspace as JSON in BUCKETMOVE_WORKSPACE (a workspace
 *   holds no secret by design: the codec keys are named, never given); memory, timeout and reserved concurrency from
 *   the workspace; its own log group with a retention period.
 * - Its execution role: write its logs; assume the two migration roles (the legacy reader, the primary writer) as the
 *   CLI does, with the ExternalId; read the codec keys' Secrets Manager secret. No S3 or KMS right of its own.
 * - The Batch Operations role: read the manifests under `<reportsPrefix>manifests/`, write the completion reports under
 *   `<reportsPrefix>reports/`, invoke the function. Nothing on the photos.
 * - A lifecycle rule (added to the bucket's one lifecycle configuration by the primary stack) that expires what is
 *   under the prefix after `reportsExpirationDays`.
 *
 * The migration roles' trust policies admit the function's role (`migrationPrincipals`): the writer role here, the
 * reader role in the legacy stack. IAM refuses a trust policy naming a role that does not exist, so the writer role
 * depends on the function role, and the primary stack must be deployed before the legacy stack (docs/stacks.md, "S3
 * Batch Operations").
 */
import { Fn, TerraformAsset, AssetType, TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import type { S3BucketLifecycleConfigurationRule } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { type Workspace } from '../workspaces/load';
import { ConfigError } from '../workspaces/errors';
import { LAMBDA_BUNDLE } from './lambda-bundle';
import {
  batchFunctionRolePolicy,
  batchOperationsRolePolicy,
  iamArn,
  lambdaFunctionArn,
  logStreamsArn,
  partitionOf,
  renderPolicy,
  codecSecretArn,
  serviceTrustPolicy,
  type SseKmsKey,
} from './policies';
import { batchPrefixes, WORKSPACE_ENV_VAR } from '../workspaces/batch-layout';
import { batchFunctionMemoryMb } from '../workspaces/codec-memory';

/** Lambda's limit on the total size of a function's environment variables (keys and values). */
export const LAMBDA_ENV_LIMIT_BYTES = 4096;

export const LAMBDA_SERVICE = 'lambda.amazonaws.com';
export const BATCH_OPERATIONS_SERVICE = 'batchoperations.s3.amazonaws.com';

/** The ARN of the function's execution role (in the primary account). */
export function batchFunctionRoleArn(ws: Workspace): string {
  return iamArn(partitionOf(ws.region), ws.primary.accountId, 'role', ws.batchOperations.functionRoleName);
}

/** Who the migration roles trust: the migrator principals, and the function's role when Batch Operations is enabled. */
export function migrationPrincipals(ws: Workspace): string[] {
  return ws.batchOperations.enabled
    ? [...ws.migration.principals, batchFunctionRoleArn(ws)]
    : [...ws.migration.principals];
}

/** The workspace as the function receives it: the validated document, defaults filled in, compact JSON. */
export function workspaceForFunction(ws: Workspace): string {
  const { file: _file, ...doc } = ws as Workspace & { file?: string };
  const text = JSON.stringify(doc);
  const bytes = Buffer.byteLength(WORKSPACE_ENV_VAR) + Buffer.byteLength(text);
  if (bytes > LAMBDA_ENV_LIMIT_BYTES) {
    throw new ConfigError(
      `${ws.env}: the workspace is ${bytes} bytes as the function's ${WORKSPACE_ENV_VAR}, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES}-byte limit on environment variables; shorten it (tags, principals) or disable batchOperations`,
    );
  }
  return text;
}

/**
 * Refuses, in one line, a function whose memory cannot copy the largest object the workspace declares
 * (`codec.maxObjectBytes`) through its codec's path: the model of workspaces/codec-memory.ts (what the codec and the
 * copy path hold) plus the bundle's measured baseline and margin. Fernet and AES-GCM stream, so their need does not
 * grow with the object; with several keys a small object is kept whole while its key is found.
 */
export function checkBatchFunctionMemory(ws: Workspace): void {
  if (ws.codec.type === 'plugin') return; // refused for Batch Operations by the schema
  const largest = ws.codec.maxObjectBytes;
  const need = batchFunctionMemoryMb(ws.codec, largest);
  const have = ws.batchOperations.memoryMb;
  if (have >= need) return;
  throw new ConfigError(
    `${ws.env}: batchOperations.memoryMb ${have} cannot copy objects of up to ${Math.ceil(largest / 2 ** 20)} MiB (codec.maxObjectBytes) through the ${ws.codec.type} codec: the function needs ${need} MB (docs/operations.md, "Sizing the function"); set batchOperations.memoryMb to ${need} or more`,
  );
}

/** The lifecycle rule that expires the manifests and reports (the bucket's one lifecycle configuration holds it). */
export function batchLifecycleRule(ws: Workspace): S3BucketLifecycleConfigurationRule {
  return {
    id: 'expire-batch-operations-manifests-and-reports',
    status: 'Enabled',
    filter: [{ prefix: batchPrefixes(ws).root }],
    expiration: [{ days: ws.batchOperations.reportsExpirationDays }],
  };
}

export interface BatchOperationsProps {
  ws: Workspace;
  /** The folder holding the built bundle (checked by the app before any stack is built). */
  bundleDir: string;
  bucketArn: string;
  writerRoleArn: string;
  kms?: SseKmsKey;
}

export class BatchOperations extends Construct {
  readonly functionRole: IamRole;
  readonly fn: LambdaFunction;
  readonly operationsRole: IamRole;

  constructor(scope: Construct, id: string, props: BatchOperationsProps) {
    super(scope, id);
    const { ws } = props;
    checkBatchFunctionMemory(ws);
    const b = ws.batchOperations;
    const partition = partitionOf(ws.region);
    const account = ws.primary.accountId;
    const legacyRegion = ws.legacy.region ?? ws.region;
    const readerRoleArn = iamArn(partitionOf(legacyRegion), ws.legacy.accountId, 'role', ws.legacy.readerRoleName);
    const functionArn = lambdaFunctionArn(partition, ws.region, account, b.functionName);
    const logGroupName = `/aws/lambda/${b.functionName}`;

    // Each resource gets a plain address (aws_lambda_function.batch-function), as the stack's other resources have; the
    // override comes right after each one is made, before anything refers to it.

    // ---- the function's execution role ----
    this.functionRole = new IamRole(this, 'function-role', {
      name: b.functionRoleName,
      description: `bucketmove ${ws.env}: the Batch Operations copy function; assumes the migration roles`,
      assumeRolePolicy: renderPolicy(
        serviceTrustPolicy({ sid: 'LambdaRunsTheCopyFunction', service: LAMBDA_SERVICE, sourceAccount: account }),
      ),
    });
    this.functionRole.overrideLogicalId('batch-function-role');
    const functionPolicy = new IamRolePolicy(this, 'function-role-policy', {
      name: 'bucketmove-batch-copy',
      role: this.functionRole.name,
      policy: renderPolicy(
        batchFunctionRolePolicy({
          logStreamsArn: logStreamsArn(partition, ws.region, account, logGroupName),
          migrationRoleArns: [readerRoleArn, props.writerRoleArn],
          // The keys are read with the function's own credentials, in the region the migrator uses (codec/index.ts).
          codecSecretArn: codecSecretArn(ws),
        }),
      ),
    });
    functionPolicy.overrideLogicalId('batch-function-role-policy');

    // ---- the function ----
    const logGroup = new CloudwatchLogGroup(this, 'log-group', {
      name: logGroupName,
      retentionInDays: b.logRetentionDays,
    });
    logGroup.overrideLogicalId('batch-log-group');
    const code = new TerraformAsset(this, 'code', { path: props.bundleDir, type: AssetType.ARCHIVE });
    this.fn = new LambdaFunction(this, 'function', {
      functionName: b.functionName,
      description: `bucketmove ${ws.env}: decrypt-copies the objects of a Batch Operations job from ${ws.legacy.bucket} to ${ws.primary.bucket}`,
      role: this.functionRole.arn,
      runtime: LAMBDA_BUNDLE.runtime,
      handler: LAMBDA_BUNDLE.handler,
      filename: code.path,
      sourceCodeHash: Fn.filebase64sha256(code.path),
      memorySize: b.memoryMb,
      timeout: b.timeoutSeconds,
      reservedConcurrentExecutions: b.reservedConcurrency ?? -1,
      environment: { variables: { [WORKSPACE_ENV_VAR]: workspaceForFunction(ws) } },
      loggingConfig: { logFormat: 'Text', logGroup: logGroup.name },
      // The role's policy and the log group exist before the first invocation can log.
      dependsOn: [functionPolicy, logGroup],
    });
    this.fn.overrideLogicalId('batch-function');

    // ---- the role Batch Operations runs the job as ----
    const prefixes = batchPrefixes(ws);
    this.operationsRole = new IamRole(this, 'operations-role', {
      name: b.operationsRoleName,
      description: `bucketmove ${ws.env}: S3 Batch Operations reads manifests and writes reports under ${prefixes.root}, invokes ${b.functionName}`,
      assumeRolePolicy: renderPolicy(
        serviceTrustPolicy({
          sid: 'BatchOperationsRunsTheJobs',
          service: BATCH_OPERATIONS_SERVICE,
          sourceAccount: account,
        }),
      ),
    });
    this.operationsRole.overrideLogicalId('batch-operations-role');
    const operationsPolicy = new IamRolePolicy(this, 'operations-role-policy', {
      name: 'bucketmove-batch-operations',
      role: this.operationsRole.name,
      policy: renderPolicy(
        batchOperationsRolePolicy({
          bucketArn: props.bucketArn,
          manifestsPrefix: prefixes.manifests,
          reportsPrefix: prefixes.reports,
          functionArn,
          kms: props.kms,
        }),
      ),
    });
    operationsPolicy.overrideLogicalId('batch-operations-role-policy');

    new TerraformOutput(scope, 'batch_function_arn', {
      value: this.fn.arn,
      description: 'The Batch Operations copy function',
    });
    new TerraformOutput(scope, 'batch_function_role_arn', {
      value: this.functionRole.arn,
      description: "The copy function's execution role",
    });
    new TerraformOutput(scope, 'batch_operations_role_arn', {
      value: this.operationsRole.arn,
      description: 'The role S3 Batch Operations jobs run as (CreateJob RoleArn)',
    });
    new TerraformOutput(scope, 'batch_reports_prefix', {
      value: prefixes.root,
      description: "Where the jobs' manifests and reports go in the bucket",
    });
  }
}
