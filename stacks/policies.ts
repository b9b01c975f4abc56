/**
 * Pure functions that build every IAM policy document of the stacks from the named action lists in `perms.ts`.
 *
 * The documents hold literal ARNs computed from the validated workspace (no Terraform references), so the plan shows
 * each policy in full before anything is applied, and the tests evaluate exactly what Terraform will send to AWS.
 */
import { objectsArn, prefixObjectsArn, s3ServiceHost } from '../workspaces/arns';
import {
  ACCESS_KEY_ROTATION_ACTIONS,
  ALL_S3_ACTIONS_FOR_DENY,
  APP_BUCKET_ACTIONS,
  GATEWAY_LEGACY_BUCKET_ACTIONS,
  GATEWAY_LEGACY_OBJECT_ACTIONS,
  GATEWAY_LEGACY_WRITE_ACTIONS,
  GATEWAY_NEW_BUCKET_ACTIONS,
  GATEWAY_NEW_OBJECT_ACTIONS,
  APP_OBJECT_ACTIONS,
  ASSUME_ROLE_ACTIONS,
  BUCKET_LOCATION_ACTIONS,
  CLOUDTRAIL_ACL_CHECK_ACTIONS,
  CLOUDTRAIL_DELIVERY_ACTIONS,
  CONDITIONAL_WRITE_ACTIONS,
  KMS_SSE_READ_ACTIONS,
  KMS_SSE_READ_WRITE_ACTIONS,
  LAMBDA_INVOKE_ACTIONS,
  LOG_DELIVERY_ACTIONS,
  LOG_WRITE_ACTIONS,
  MANIFEST_READ_ACTIONS,
  READER_BUCKET_ACTIONS,
  REPORT_WRITE_ACTIONS,
  SECRET_READ_ACTIONS,
  SECRET_ROTATION_ACTIONS,
  SSE_WRITE_ACTIONS,
  READER_OBJECT_ACTIONS,
  WRITER_BUCKET_ACTIONS,
  WRITER_OBJECT_ACTIONS,
  WRITER_UNDO_ACTIONS,
} from './perms';

export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | { AWS: string[] } | { Service: string[] };
  Action: string[];
  Resource?: string[];
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** The minimum TLS version the bucket accepts (s3:TlsVersion is numeric: "1.2"). */
export const MIN_TLS_VERSION = '1.2';

// ---- ARNs (workspaces/arns.ts, shared with the data half) -----------------------------------------------------

export * from '../workspaces/arns';

/** A KMS key that S3 uses on the caller's behalf, in the bucket's region. */
export interface SseKmsKey {
  keyArn: string;
  region: string;
}

// ---- identity policies ------------------------------------------------------------------------------------------

/** The encryption context key S3 sets on every KMS call it makes for an object (the bucket's or object's ARN). */
export const KMS_S3_CONTEXT_KEY = 'kms:EncryptionContext:aws:s3:arn';

/**
 * The KMS rights S3 uses on the caller's behalf for one bucket's objects: only through S3 (kms:ViaService), and only
 * for that bucket (kms:EncryptionContext:aws:s3:arn). S3 passes the bucket's ARN as the encryption context when the
 * object uses an S3 Bucket Key, and the object's ARN otherwise (AWS S3 User Guide, "Using server-side encryption with
 * AWS KMS keys (SSE-KMS)", Encryption context; "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys": "the bucket
 * ARN is used as the encryption context"), so both forms are allowed, for this bucket only.
 */
function kmsViaS3(sid: string, actions: readonly string[], key: SseKmsKey, bucketArnValue: string): PolicyStatement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: [...actions],
    Resource: [key.keyArn],
    Condition: {
      // Only when S3 calls KMS for the caller (SSE-KMS), never for direct use of the key.
      StringEquals: { 'kms:ViaService': s3ServiceHost(key.region) },
      StringLike: { [KMS_S3_CONTEXT_KEY]: [bucketArnValue, objectsArn(bucketArnValue)] },
    },
  };
}

/**
 * The app's user (and the dev workspace's local-development user): read, write, list and delete on one bucket, plus
 * the KMS rights SSE-KMS needs on that bucket's key. Nothing on the bucket's configuration, nothing elsewhere.
 * With `excludedPrefix` (Batch Operations' manifests and reports), an explicit Deny keeps its object rights off the
 * keys under that prefix: a Deny, because an Allow on "bucket/*" cannot leave a prefix out without NotResource.
 */
export function appUserPolicy(args: { bucketArn: string; kms?: SseKmsKey; excludedPrefix?: string }): PolicyDocument {
  const statements: PolicyStatement[] = [
    { Sid: 'ListTheBucket', Effect: 'Allow', Action: [...APP_BUCKET_ACTIONS], Resource: [args.bucketArn] },
    {
      Sid: 'ReadWriteDeleteObjects',
      Effect: 'Allow',
      Action: [...APP_OBJECT_ACTIONS],
      Resource: [objectsArn(args.bucketArn)],
    },
  ];
  if (args.excludedPrefix) {
    statements.push({
      Sid: 'NothingUnderTheBatchOperationsPrefix',
      Effect: 'Deny',
      Action: [...APP_OBJECT_ACTIONS],
      Resource: [prefixObjectsArn(args.bucketArn, args.excludedPrefix)],
    });
  }
  if (args.kms)
    statements.push(kmsViaS3('UseTheBucketKeyThroughS3', KMS_SSE_READ_WRITE_ACTIONS, args.kms, args.bucketArn));
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The S3-API gateway's own identity (a role, or the user whose keys it is given): least privilege on both buckets
 * (perms.ts GATEWAY_*). The legacy bucket's rights are only what the gateway's modes use: PutObject only with
 * `writesLegacy` (legacy-only, read-both-write-legacy), nothing at all once the legacy bucket is left out (new-only).
 * KMS rights through S3 only, on each bucket's key; GetSecretValue only on the named secrets (the codec's keys, the
 * app's keys the gateway verifies signatures against). Cross-account, the legacy bucket's policy must grant the same.
 */
export function gatewayPolicy(args: {
  newBucketArn: string;
  kms?: SseKmsKey;
  legacy?: { bucketArn: string; kms?: SseKmsKey; writesLegacy: boolean };
  secretArns?: readonly string[];
}): PolicyDocument {
  const statements: PolicyStatement[] = [
    {
      Sid: 'ListTheNewBucket',
      Effect: 'Allow',
      Action: [...GATEWAY_NEW_BUCKET_ACTIONS],
      Resource: [args.newBucketArn],
    },
    {
      Sid: 'ReadWriteDeleteNewObjects',
      Effect: 'Allow',
      Action: [...GATEWAY_NEW_OBJECT_ACTIONS],
      Resource: [objectsArn(args.newBucketArn)],
    },
  ];
  if (args.kms)
    statements.push(kmsViaS3('UseTheNewBucketKeyThroughS3', KMS_SSE_READ_WRITE_ACTIONS, args.kms, args.newBucketArn));
  const legacy = args.legacy;
  if (legacy) {
    statements.push(
      {
        Sid: 'ListTheLegacyBucket',
        Effect: 'Allow',
        Action: [...GATEWAY_LEGACY_BUCKET_ACTIONS],
        Resource: [legacy.bucketArn],
      },
      {
        Sid: legacy.writesLegacy ? 'ReadWriteDeleteLegacyObjects' : 'ReadDeleteLegacyObjects',
        Effect: 'Allow',
        Action: [...GATEWAY_LEGACY_OBJECT_ACTIONS, ...(legacy.writesLegacy ? GATEWAY_LEGACY_WRITE_ACTIONS : [])],
        Resource: [objectsArn(legacy.bucketArn)],
      },
    );
    if (legacy.kms) {
      statements.push(
        kmsViaS3(
          'UseTheLegacyBucketKeyThroughS3',
          legacy.writesLegacy ? KMS_SSE_READ_WRITE_ACTIONS : KMS_SSE_READ_ACTIONS,
          legacy.kms,
          legacy.bucketArn,
        ),
      );
    }
  }
  if (args.secretArns?.length)
    statements.push({
      Sid: 'ReadItsSecrets',
      Effect: 'Allow',
      Action: [...SECRET_READ_ACTIONS],
      Resource: [...args.secretArns],
    });
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The condition of the writer's delete (perms.ts WRITER_UNDO_ACTIONS): the request carries If-Match (S3 User Guide,
 * "Enforce conditional deletes on Amazon S3 buckets", example 1: a Null test on `s3:if-match`), and not the `*` form,
 * which would match any object that exists. S3 then deletes only while the key's current object has that ETag.
 */
export const UNDO_ONLY_WITH_IF_MATCH: ConditionBlock = {
  Null: { 's3:if-match': 'false' },
  StringNotEquals: { 's3:if-match': '*' },
};

/**
 * The migration writer role: create objects in the new bucket (the bucket policy makes every completed write
 * conditional on If-None-Match), read and list it for the audit, and delete only with If-Match on the ETag of the
 * object it deletes: to undo its own copy of a photo the app deleted during the copy (see perms.ts). KMS rights only
 * with SSE-KMS, only that key.
 */
export function writerRolePolicy(args: { bucketArn: string; kms?: SseKmsKey }): PolicyDocument {
  const statements: PolicyStatement[] = [
    { Sid: 'ListTheBucket', Effect: 'Allow', Action: [...WRITER_BUCKET_ACTIONS], Resource: [args.bucketArn] },
    {
      Sid: 'WriteAndReadObjects',
      Effect: 'Allow',
      Action: [...WRITER_OBJECT_ACTIONS],
      Resource: [objectsArn(args.bucketArn)],
    },
    {
      Sid: 'UndoItsOwnCopyOnlyWithIfMatch',
      Effect: 'Allow',
      Action: [...WRITER_UNDO_ACTIONS],
      Resource: [objectsArn(args.bucketArn)],
      Condition: UNDO_ONLY_WITH_IF_MATCH,
    },
  ];
  if (args.kms)
    statements.push(kmsViaS3('UseTheBucketKeyThroughS3', KMS_SSE_READ_WRITE_ACTIONS, args.kms, args.bucketArn));
  return { Version: '2012-10-17', Statement: statements };
}

/** The migration reader role in the legacy account: list and read the legacy bucket; kms:Decrypt only if configured. */
export function readerRolePolicy(args: { bucketArn: string; kms?: SseKmsKey }): PolicyDocument {
  const statements: PolicyStatement[] = [
    { Sid: 'ListTheLegacyBucket', Effect: 'Allow', Action: [...READER_BUCKET_ACTIONS], Resource: [args.bucketArn] },
    {
      Sid: 'ReadLegacyObjects',
      Effect: 'Allow',
      Action: [...READER_OBJECT_ACTIONS],
      Resource: [objectsArn(args.bucketArn)],
    },
  ];
  if (args.kms)
    statements.push(kmsViaS3('DecryptLegacyObjectsThroughS3', KMS_SSE_READ_ACTIONS, args.kms, args.bucketArn));
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The Batch Operations function's execution role: its own logs, and STS AssumeRole into the two migration roles (the
 * legacy reader and the primary writer), exactly as the CLI's migrator does; all S3 and KMS rights come from those
 * roles. With codec keys in Secrets Manager, GetSecretValue on that one secret.
 */
export function batchFunctionRolePolicy(args: {
  logStreamsArn: string;
  migrationRoleArns: readonly string[];
  codecSecretArn?: string;
}): PolicyDocument {
  const statements: PolicyStatement[] = [
    { Sid: 'WriteItsOwnLogs', Effect: 'Allow', Action: [...LOG_WRITE_ACTIONS], Resource: [args.logStreamsArn] },
    {
      Sid: 'AssumeTheMigrationRoles',
      Effect: 'Allow',
      Action: [...ASSUME_ROLE_ACTIONS],
      Resource: [...args.migrationRoleArns],
    },
  ];
  if (args.codecSecretArn) {
    statements.push({
      Sid: 'ReadTheCodecKeys',
      Effect: 'Allow',
      Action: [...SECRET_READ_ACTIONS],
      Resource: [args.codecSecretArn],
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The role S3 Batch Operations runs the job as (S3 User Guide, "Granting permissions for Batch Operations", the
 * invoke-Lambda policy): read the manifest under `<prefix>manifests/`, write the completion report under
 * `<prefix>reports`, invoke the one function. Nothing on the photos. With SSE-KMS the manifest and report objects are
 * encrypted with the bucket key, so S3 needs Decrypt and GenerateDataKey on it for this role.
 */
export function batchOperationsRolePolicy(args: {
  bucketArn: string;
  manifestsPrefix: string;
  reportsPrefix: string;
  functionArn: string;
  kms?: SseKmsKey;
}): PolicyDocument {
  const statements: PolicyStatement[] = [
    {
      Sid: 'ReadTheManifests',
      Effect: 'Allow',
      Action: [...MANIFEST_READ_ACTIONS],
      Resource: [prefixObjectsArn(args.bucketArn, args.manifestsPrefix)],
    },
    {
      Sid: 'WriteTheReports',
      Effect: 'Allow',
      Action: [...REPORT_WRITE_ACTIONS],
      Resource: [prefixObjectsArn(args.bucketArn, args.reportsPrefix)],
    },
    { Sid: 'LocateTheBucket', Effect: 'Allow', Action: [...BUCKET_LOCATION_ACTIONS], Resource: [args.bucketArn] },
    { Sid: 'InvokeTheCopyFunction', Effect: 'Allow', Action: [...LAMBDA_INVOKE_ACTIONS], Resource: [args.functionArn] },
  ];
  if (args.kms)
    statements.push(kmsViaS3('UseTheBucketKeyThroughS3', KMS_SSE_READ_WRITE_ACTIONS, args.kms, args.bucketArn));
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The key rotation function's execution role (stacks/key-rotation.ts): its own logs; the access keys of the users it
 * rotates; the rotation actions on their credentials secrets; GetSecretValue on the Terraform Cloud token's secret when
 * the app's keys go to Terraform Cloud. Nothing else: the test step signs with the new key, not with this role.
 */
export function keyRotationRolePolicy(args: {
  logStreamsArn: string;
  userArns: readonly string[];
  credentialsSecretArns: readonly string[];
  tokenSecretArn?: string;
}): PolicyDocument {
  const statements: PolicyStatement[] = [
    { Sid: 'WriteItsOwnLogs', Effect: 'Allow', Action: [...LOG_WRITE_ACTIONS], Resource: [args.logStreamsArn] },
    {
      Sid: 'RotateTheUsersAccessKeys',
      Effect: 'Allow',
      Action: [...ACCESS_KEY_ROTATION_ACTIONS],
      Resource: [...args.userArns],
    },
    {
      Sid: 'StageTheCredentialsSecrets',
      Effect: 'Allow',
      Action: [...SECRET_ROTATION_ACTIONS],
      Resource: [...args.credentialsSecretArns],
    },
  ];
  if (args.tokenSecretArn) {
    statements.push({
      Sid: 'ReadTheTerraformCloudToken',
      Effect: 'Allow',
      Action: [...SECRET_READ_ACTIONS],
      Resource: [args.tokenSecretArn],
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

// ---- trust policies ---------------------------------------------------------------------------------------------

/**
 * Trust for an AWS service principal (lambda.amazonaws.com, batchoperations.s3.amazonaws.com), only on behalf of the
 * one account (aws:SourceAccount): the confused-deputy guard of the IAM User Guide, "The confused deputy problem".
 */
export function serviceTrustPolicy(args: { sid: string; service: string; sourceAccount: string }): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: args.sid,
        Effect: 'Allow',
        Principal: { Service: [args.service] },
        Action: [...ASSUME_ROLE_ACTIONS],
        Condition: { StringEquals: { 'aws:SourceAccount': args.sourceAccount } },
      },
    ],
  };
}

/**
 * Who runs as the S3-API gateway's role (workspace `gateway.assumedBy`):
 * - ecs-task: ECS tasks of this account only (aws:SourceAccount: the trust policy of the Amazon ECS Developer Guide,
 *   "Amazon ECS task IAM role");
 * - ec2-instance: EC2, through the instance profile of the same name (the IAM User Guide's EC2 trust policy; EC2
 *   does not set aws:SourceAccount when it takes the role for an instance profile, so no condition);
 * - principals: those IAM principals, with STS AssumeRole (the gateway's `--role-arn`).
 */
export function gatewayTrustPolicy(args: {
  assumedBy: { type: 'ecs-task' } | { type: 'ec2-instance' } | { type: 'principals'; principals: readonly string[] };
  account: string;
}): PolicyDocument {
  const a = args.assumedBy;
  if (a.type === 'ecs-task')
    return serviceTrustPolicy({
      sid: 'EcsTasksRunTheGateway',
      service: ECS_TASKS_SERVICE,
      sourceAccount: args.account,
    });
  const statement: PolicyStatement =
    a.type === 'ec2-instance'
      ? {
          Sid: 'Ec2InstancesRunTheGateway',
          Effect: 'Allow',
          Principal: { Service: [EC2_SERVICE] },
          Action: [...ASSUME_ROLE_ACTIONS],
        }
      : {
          Sid: 'PrincipalsRunTheGateway',
          Effect: 'Allow',
          Principal: { AWS: [...a.principals] },
          Action: [...ASSUME_ROLE_ACTIONS],
        };
  return { Version: '2012-10-17', Statement: [statement] };
}

export const ECS_TASKS_SERVICE = 'ecs-tasks.amazonaws.com';
export const EC2_SERVICE = 'ec2.amazonaws.com';

/** Who may assume a migration role: the configured migrator principals, and only with the agreed sts:ExternalId. */
export function migrationTrustPolicy(args: { principals: readonly string[]; externalId: string }): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'MigratorAssumesWithExternalId',
        Effect: 'Allow',
        Principal: { AWS: [...args.principals] },
        Action: [...ASSUME_ROLE_ACTIONS],
        Condition: { StringEquals: { 'sts:ExternalId': args.externalId } },
      },
    ],
  };
}

// ---- bucket policy ----------------------------------------------------------------------------------------------

/**
 * The new bucket's policy: only Deny statements (access is granted by identity policies in the same account).
 *
 * - Every request over plain HTTP is denied (aws:SecureTransport = false), and so is TLS older than 1.2
 *   (s3:TlsVersion < 1.2).
 * - The conditional writers (the migration writer role) cannot complete a write without `If-None-Match`, so the
 *   backfill can never overwrite an object the app wrote in the meantime, even if the migrator had a bug.
 *   Per the AWS S3 User Guide, "Enforce conditional writes on Amazon S3 buckets"
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html): the header is the
 *   condition key `s3:if-none-match` (a Null test tells whether it was sent), and because CreateMultipartUpload,
 *   UploadPart and UploadPartCopy accept no conditional headers, they are exempted with the Bool key
 *   `s3:ObjectCreationOperation`, which is true only for the calls that create the object (PutObject,
 *   CompleteMultipartUpload, CopyObject). The page's example 3 denies with the same pair of conditions.
 *   The writer is matched with aws:PrincipalArn (the role ARN also matches its sessions) rather than a Principal
 *   element, so the policy does not depend on the role existing when the policy is put.
 * - Server-side encryption (sseStatements): a write that asks for another encryption than the workspace's (another
 *   algorithm, another KMS key, or a key of the caller's own, SSE-C) is denied, whoever asks.
 */
export function bucketPolicy(args: {
  bucketArn: string;
  conditionalWriterArns: readonly string[];
  encryption: SseHeader;
}): PolicyDocument {
  const statements: PolicyStatement[] = transportDenies(args.bucketArn);
  if (args.conditionalWriterArns.length) {
    statements.push({
      Sid: 'DenyMigrationWritesWithoutIfNoneMatch',
      Effect: 'Deny',
      Principal: '*',
      Action: [...CONDITIONAL_WRITE_ACTIONS],
      Resource: [objectsArn(args.bucketArn)],
      Condition: {
        ArnEquals: { 'aws:PrincipalArn': [...args.conditionalWriterArns] },
        Null: { 's3:if-none-match': 'true' },
        Bool: { 's3:ObjectCreationOperation': 'true' },
      },
    });
  }
  statements.push(...sseStatements(objectsArn(args.bucketArn), args.encryption));
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The legacy bucket's policy when the workspace enables the gateway's role (legacy-stack.ts): the cross-account half
 * of gatewayPolicy's legacy rights. A bucket in another account is reached only when both the caller's identity policy
 * and the bucket's policy allow (IAM User Guide, "Cross-account policy evaluation logic"), so this grants the gateway
 * role exactly what gatewayPolicy gives it on the legacy bucket: list, read and delete (the store's deletes remove the
 * legacy copy first), PutObject only with `writesLegacy`, and only over TLS.
 *
 * The role is named by aws:PrincipalArn under the primary account as Principal (as bucketPolicy names the writer), so
 * the policy does not depend on the role existing in the other account when it is put, and the role's sessions match.
 * No Deny: the legacy app's own access is left as it was.
 */
export function legacyGatewayBucketPolicy(args: {
  legacyBucketArn: string;
  gatewayRoleArn: string;
  gatewayAccountRoot: string;
  writesLegacy: boolean;
}): PolicyDocument {
  const condition: ConditionBlock = {
    ArnEquals: { 'aws:PrincipalArn': args.gatewayRoleArn },
    Bool: { 'aws:SecureTransport': 'true' },
  };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'GatewayListsTheBucket',
        Effect: 'Allow',
        Principal: { AWS: [args.gatewayAccountRoot] },
        Action: [...GATEWAY_LEGACY_BUCKET_ACTIONS],
        Resource: [args.legacyBucketArn],
        Condition: condition,
      },
      {
        Sid: args.writesLegacy ? 'GatewayReadsWritesDeletesObjects' : 'GatewayReadsDeletesObjects',
        Effect: 'Allow',
        Principal: { AWS: [args.gatewayAccountRoot] },
        Action: [...GATEWAY_LEGACY_OBJECT_ACTIONS, ...(args.writesLegacy ? GATEWAY_LEGACY_WRITE_ACTIONS : [])],
        Resource: [objectsArn(args.legacyBucketArn)],
        Condition: condition,
      },
    ],
  };
}

/**
 * Every request over plain HTTP, or TLS older than 1.2, is denied, whoever asks: the first rules of every bucket
 * policy.
 */
function transportDenies(bucketArnValue: string): PolicyStatement[] {
  const everything = [bucketArnValue, objectsArn(bucketArnValue)];
  return [
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: [...ALL_S3_ACTIONS_FOR_DENY],
      Resource: everything,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
    {
      Sid: 'DenyOutdatedTls',
      Effect: 'Deny',
      Principal: '*',
      Action: [...ALL_S3_ACTIONS_FOR_DENY],
      Resource: everything,
      Condition: { NumericLessThan: { 's3:TlsVersion': MIN_TLS_VERSION } },
    },
  ];
}

export const S3_LOGGING_SERVICE = 'logging.s3.amazonaws.com';
export const CLOUDTRAIL_SERVICE = 'cloudtrail.amazonaws.com';

/**
 * The log bucket's policy: the transport denies, and the one service that delivers into it, only on behalf of the
 * photos' bucket in this account (the confused-deputy guard):
 * - server access logging: logging.s3.amazonaws.com may PutObject under the prefix, with aws:SourceArn the photos'
 *   bucket and aws:SourceAccount this account (S3 User Guide, "Enabling Amazon S3 server access logging", "Grant
 *   permissions to the logging service principal by using a bucket policy"; the bucket owner enforced setting rules out
 *   the log-delivery ACL);
 * - CloudTrail: cloudtrail.amazonaws.com may GetBucketAcl, and PutObject under `<prefix>AWSLogs/<account>/` with the
 *   bucket-owner-full-control ACL, with aws:SourceArn the trail (CloudTrail User Guide, "Amazon S3 bucket policy for
 *   CloudTrail").
 * Nobody is granted anything else: the operators read the logs with their own account's identity policies.
 */
export function logBucketPolicy(args: {
  logBucketArn: string;
  prefix: string;
  sourceAccount: string;
  delivery: { kind: 'server-access-logs'; sourceBucketArn: string } | { kind: 'cloudtrail'; trailArn: string };
}): PolicyDocument {
  const statements = transportDenies(args.logBucketArn);
  const d = args.delivery;
  if (d.kind === 'server-access-logs') {
    statements.push({
      Sid: 'S3ServerAccessLogDelivery',
      Effect: 'Allow',
      Principal: { Service: [S3_LOGGING_SERVICE] },
      Action: [...LOG_DELIVERY_ACTIONS],
      Resource: [prefixObjectsArn(args.logBucketArn, args.prefix)],
      Condition: {
        ArnLike: { 'aws:SourceArn': d.sourceBucketArn },
        StringEquals: { 'aws:SourceAccount': args.sourceAccount },
      },
    });
  } else {
    statements.push(
      {
        Sid: 'CloudTrailAclCheck',
        Effect: 'Allow',
        Principal: { Service: [CLOUDTRAIL_SERVICE] },
        Action: [...CLOUDTRAIL_ACL_CHECK_ACTIONS],
        Resource: [args.logBucketArn],
        Condition: { StringEquals: { 'aws:SourceArn': d.trailArn } },
      },
      {
        Sid: 'CloudTrailDelivery',
        Effect: 'Allow',
        Principal: { Service: [CLOUDTRAIL_SERVICE] },
        Action: [...CLOUDTRAIL_DELIVERY_ACTIONS],
        Resource: [prefixObjectsArn(args.logBucketArn, `${args.prefix}AWSLogs/${args.sourceAccount}/`)],
        Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': d.trailArn } },
      },
    );
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** The server-side encryption a bucket's writes must ask for: the workspace's `primary.encryption`. */
export interface SseHeader {
  /** The value of x-amz-server-side-encryption. */
  readonly algorithm: 'AES256' | 'aws:kms';
  /** With aws:kms: the key's ARN, the value of x-amz-server-side-encryption-aws-kms-key-id. */
  readonly kmsKeyArn?: string;
}

/**
 * The bucket policy's encryption rules, Deny statements on s3:PutObject for every principal.
 *
 * Which requests carry the headers (S3 API Reference, PutObject, CopyObject, CreateMultipartUpload, UploadPart): a
 * single PUT, a copy and the CreateMultipartUpload of a multipart upload carry x-amz-server-side-encryption (and the
 * KMS key id); UploadPart, UploadPartCopy and CompleteMultipartUpload carry none (the upload's encryption was fixed
 * when it was created), and all of them are authorized as s3:PutObject. A condition on a header S3 does not see
 * treats it as absent, so a Deny of an absent header would refuse every part (as reported for UploadPart,
 * boto/botocore#471 and aws/aws-sdk-js#1830) and every completion. s3:ObjectCreationOperation, which exempts the parts
 * from the conditional-write Deny above, cannot exempt them here: it is true for CompleteMultipartUpload (no header)
 * and false for CreateMultipartUpload (header), the opposite grouping of the one needed. So each rule applies to the
 * requests that carry the header in question ("Null": false) and refuses a wrong value there, wherever in a multipart
 * upload it sits:
 *
 * - DenyOtherEncryption: x-amz-server-side-encryption present and not the workspace's algorithm (SSE-S3 asked of an
 *   SSE-KMS bucket, SSE-KMS or DSSE-KMS of an SSE-S3 one).
 * - DenyOtherKmsKey (SSE-KMS): x-amz-server-side-encryption-aws-kms-key-id present and not the workspace's key ARN.
 * - DenyCustomerProvidedKeys: SSE-C (x-amz-server-side-encryption-customer-algorithm present), which would leave the
 *   object readable only with a key S3 does not keep.
 *
 * A write with no encryption header gets the bucket's default encryption, which the stack sets to the same algorithm
 * and key (primary-stack.ts), so every object ends up encrypted as the workspace says; the bucketmove writers send the
 * header anyway (migrator/src/objects/write-new.ts sseParams: the migrator, copy-on-miss, the store's puts and
 * tombstones, the Batch Operations manifests).
 */
export function sseStatements(objects: string, enc: SseHeader): PolicyStatement[] {
  const deny = (sid: string, condition: ConditionBlock): PolicyStatement => ({
    Sid: sid,
    Effect: 'Deny',
    Principal: '*',
    Action: [...SSE_WRITE_ACTIONS],
    Resource: [objects],
    Condition: condition,
  });
  const statements = [
    deny('DenyOtherEncryption', {
      Null: { [SSE_HEADER]: 'false' },
      StringNotEquals: { [SSE_HEADER]: enc.algorithm },
    }),
  ];
  if (enc.algorithm === 'aws:kms') {
    if (!enc.kmsKeyArn) throw new Error('sseStatements: aws:kms needs the key ARN');
    statements.push(
      deny('DenyOtherKmsKey', {
        Null: { [SSE_KMS_KEY_HEADER]: 'false' },
        StringNotEquals: { [SSE_KMS_KEY_HEADER]: enc.kmsKeyArn },
      }),
    );
  }
  statements.push(deny('DenyCustomerProvidedKeys', { Null: { [SSE_C_HEADER]: 'false' } }));
  return statements;
}

/** The S3 condition keys of the encryption headers (Service Authorization Reference, Amazon S3, condition keys). */
export const SSE_HEADER = 's3:x-amz-server-side-encryption';
export const SSE_KMS_KEY_HEADER = 's3:x-amz-server-side-encryption-aws-kms-key-id';
export const SSE_C_HEADER = 's3:x-amz-server-side-encryption-customer-algorithm';

/** The JSON text Terraform receives (stable key order as built above). */
export function renderPolicy(doc: PolicyDocument): string {
  return JSON.stringify(doc);
}
