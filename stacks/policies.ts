/**
 * Pure functions that build every IAM policy document of the stacks from the named action lists in `perms.ts`.
 *
 * The documents hold literal ARNs computed from the validated workspace (no Terraform references), so the plan shows
 * each policy in full before anything is applied, and the tests evaluate exactly what Terraform will send to AWS.
 */
import { objectsArn, prefixObjectsArn, s3ServiceHost } from '../workspaces/arns';
import {
  ALL_S3_ACTIONS_FOR_DENY,
  APP_BUCKET_ACTIONS,
  APP_OBJECT_ACTIONS,
  ASSUME_ROLE_ACTIONS,
  BUCKET_LOCATION_ACTIONS,
  CONDITIONAL_WRITE_ACTIONS,
  KMS_SSE_READ_ACTIONS,
  KMS_SSE_READ_WRITE_ACTIONS,
  LAMBDA_INVOKE_ACTIONS,
  LOG_WRITE_ACTIONS,
  MANIFEST_READ_ACTIONS,
  READER_BUCKET_ACTIONS,
  REPORT_WRITE_ACTIONS,
  SECRET_READ_ACTIONS,
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

function kmsViaS3(sid: string, actions: readonly string[], key: SseKmsKey): PolicyStatement {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: [...actions],
    Resource: [key.keyArn],
    // Only when S3 calls KMS for the caller (SSE-KMS), never for direct use of the key.
    Condition: { StringEquals: { 'kms:ViaService': s3ServiceHost(key.region) } },
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
    { Sid: 'ReadWriteDeleteObjects', Effect: 'Allow', Action: [...APP_OBJECT_ACTIONS], Resource: [objectsArn(args.bucketArn)] },
  ];
  if (args.excludedPrefix) {
    statements.push({
      Sid: 'NothingUnderTheBatchOperationsPrefix',
      Effect: 'Deny',
      Action: [...APP_OBJECT_ACTIONS],
      Resource: [prefixObjectsArn(args.bucketArn, args.excludedPrefix)],
    });
  }
  if (args.kms) statements.push(kmsViaS3('UseTheBucketKeyThroughS3', KMS_SSE_READ_WRITE_ACTIONS, args.kms));
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
    { Sid: 'WriteAndReadObjects', Effect: 'Allow', Action: [...WRITER_OBJECT_ACTIONS], Resource: [objectsArn(args.bucketArn)] },
    {
      Sid: 'UndoItsOwnCopyOnlyWithIfMatch',
      Effect: 'Allow',
      Action: [...WRITER_UNDO_ACTIONS],
      Resource: [objectsArn(args.bucketArn)],
      Condition: UNDO_ONLY_WITH_IF_MATCH,
    },
  ];
  if (args.kms) statements.push(kmsViaS3('UseTheBucketKeyThroughS3', KMS_SSE_READ_WRITE_ACTIONS, args.kms));
  return { Version: '2012-10-17', Statement: statements };
}

/** The migration reader role in the legacy account: list and read the legacy bucket; kms:Decrypt only if configured. */
export function readerRolePolicy(args: { bucketArn: string; kms?: SseKmsKey }): PolicyDocument {
  const statements: PolicyStatement[] = [
    { Sid: 'ListTheLegacyBucket', Effect: 'Allow', Action: [...READER_BUCKET_ACTIONS], Resource: [args.bucketArn] },
    { Sid: 'ReadLegacyObjects', Effect: 'Allow', Action: [...READER_OBJECT_ACTIONS], Resource: [objectsArn(args.bucketArn)] },
  ];
  if (args.kms) statements.push(kmsViaS3('DecryptLegacyObjectsThroughS3', KMS_SSE_READ_ACTIONS, args.kms));
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
    { Sid: 'AssumeTheMigrationRoles', Effect: 'Allow', Action: [...ASSUME_ROLE_ACTIONS], Resource: [...args.migrationRoleArns] },
  ];
  if (args.codecSecretArn) {
    statements.push({ Sid: 'ReadTheCodecKeys', Effect: 'Allow', Action: [...SECRET_READ_ACTIONS], Resource: [args.codecSecretArn] });
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
    { Sid: 'ReadTheManifests', Effect: 'Allow', Action: [...MANIFEST_READ_ACTIONS], Resource: [prefixObjectsArn(args.bucketArn, args.manifestsPrefix)] },
    { Sid: 'WriteTheReports', Effect: 'Allow', Action: [...REPORT_WRITE_ACTIONS], Resource: [prefixObjectsArn(args.bucketArn, args.reportsPrefix)] },
    { Sid: 'LocateTheBucket', Effect: 'Allow', Action: [...BUCKET_LOCATION_ACTIONS], Resource: [args.bucketArn] },
    { Sid: 'InvokeTheCopyFunction', Effect: 'Allow', Action: [...LAMBDA_INVOKE_ACTIONS], Resource: [args.functionArn] },
  ];
  if (args.kms) statements.push(kmsViaS3('UseTheBucketKeyThroughS3', KMS_SSE_READ_WRITE_ACTIONS, args.kms));
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
 */
export function bucketPolicy(args: { bucketArn: string; conditionalWriterArns: readonly string[] }): PolicyDocument {
  const everything = [args.bucketArn, objectsArn(args.bucketArn)];
  const statements: PolicyStatement[] = [
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
  return { Version: '2012-10-17', Statement: statements };
}

/** The JSON text Terraform receives (stable key order as built above). */
export function renderPolicy(doc: PolicyDocument): string {
  return JSON.stringify(doc);
}
