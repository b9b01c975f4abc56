/**
 * Every IAM action the stacks grant, as named constants (the pattern of aws-cdk's aws-s3 `perms.ts`). Policies are
 * built from these in `policies.ts`; no stack writes an action list of its own.
 *
 * No constant holds a wildcard action: each grant names the exact API permissions it needs, so a review of this file
 * is a review of everything any principal of bucketmove can do.
 */

/** Read an object (GetObject, HeadObject) and its current version. */
export const OBJECT_READ_ACTIONS = ['s3:GetObject'] as const;

/** Read a specific, possibly noncurrent, version of an object (GetObject with versionId). */
export const OBJECT_VERSION_READ_ACTIONS = ['s3:GetObjectVersion'] as const;

/** List the keys of a bucket (ListObjectsV2). Granted on the bucket ARN, not on its objects. */
export const BUCKET_LIST_ACTIONS = ['s3:ListBucket'] as const;

/**
 * Create objects: PutObject, and the multipart calls (CreateMultipartUpload, UploadPart, CompleteMultipartUpload are
 * all authorized as s3:PutObject), plus aborting and listing the parts of one's own multipart upload (lib-storage
 * `Upload` aborts on failure). Granted on object ARNs.
 */
export const OBJECT_WRITE_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'] as const;

/** List the in-progress multipart uploads of a bucket (to resume or clean up). Granted on the bucket ARN. */
export const BUCKET_MULTIPART_LIST_ACTIONS = ['s3:ListBucketMultipartUploads'] as const;

/**
 * Delete an object. On a versioned bucket this adds a delete marker; the noncurrent version stays until the lifecycle
 * rule expires it. s3:DeleteObjectVersion (permanent deletion) is deliberately granted to nobody.
 */
export const OBJECT_DELETE_ACTIONS = ['s3:DeleteObject'] as const;

/**
 * The migration writer's one delete: to undo its own copy of a photo the app deleted while it was being copied (the
 * app deletes legacy first, then new, so the copy can land after the app's delete; migrator/src/migrate/
 * recheck-deletes.ts). Granted only with If-Match naming an ETag (policies.ts writerRolePolicy): the writer reads the
 * key, recognizes its copy by the provenance metadata, and deletes only while the key still holds that very object, so
 * it can neither delete blindly (the first half of a delete-then-put) nor remove an app write that lands in between.
 *
 * Why not narrower (AWS Service Authorization Reference, "Actions, resources, and condition keys for Amazon S3"):
 * DeleteObject takes no object-tag or metadata condition (s3:ExistingObjectTag is not among its keys; s3:if-match is),
 * so no policy can name "the writer's own objects". s3:DeleteObjectVersion with s3:versionid is no narrower: the writer
 * must read every object (the audit, the 412 explanation), so a HEAD gives it any current version id, and a version
 * delete is permanent where DeleteObject on the versioned bucket only adds a delete marker over the app's version,
 * which stays recoverable until the noncurrent-version lifecycle expires it. The writer gets no version rights at all.
 */
export const WRITER_UNDO_ACTIONS = [...OBJECT_DELETE_ACTIONS] as const;

/**
 * What S3 needs from a KMS key to write and read SSE-KMS objects on the caller's behalf: GenerateDataKey for uploads,
 * Decrypt for downloads and to complete multipart uploads. S3 never calls kms:Encrypt for SSE-KMS, so it is not
 * granted. (AWS S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)", Permissions: "To upload or
 * download an object encrypted with an AWS KMS key ... you need kms:GenerateDataKey and kms:Decrypt permissions on the
 * key"; and "Multipart upload API and permissions".)
 */
export const KMS_SSE_READ_WRITE_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'] as const;

/** Reading SSE-KMS objects needs only Decrypt. */
export const KMS_SSE_READ_ACTIONS = ['kms:Decrypt'] as const;

/** Assume a role (the trust policies of the migration roles grant this). */
export const ASSUME_ROLE_ACTIONS = ['sts:AssumeRole'] as const;

/**
 * Used only in Deny statements of the bucket policy (transport rules apply to every S3 call on the bucket). Never in an
 * Allow: a test checks that no Allow statement holds a wildcard action.
 */
export const ALL_S3_ACTIONS_FOR_DENY = ['s3:*'] as const;

/** The object-creating action whose conditional-write header the bucket policy enforces for the writer role. */
export const CONDITIONAL_WRITE_ACTIONS = ['s3:PutObject'] as const;

/**
 * The action whose encryption headers the bucket policy checks (PutObject, CopyObject and every step of a multipart
 * upload are authorized as s3:PutObject); used only in Deny statements.
 */
export const SSE_WRITE_ACTIONS = ['s3:PutObject'] as const;

/**
 * Tag an object as it is written (PutObject with x-amz-tagging needs it): the app's store tags its tombstones so a
 * lifecycle rule expires them.
 */
export const OBJECT_TAGGING_WRITE_ACTIONS = ['s3:PutObjectTagging'] as const;

/** The app: read, write (with tags), list and delete on its one bucket. */
export const APP_OBJECT_ACTIONS = [
  ...OBJECT_READ_ACTIONS,
  ...OBJECT_WRITE_ACTIONS,
  ...OBJECT_TAGGING_WRITE_ACTIONS,
  ...OBJECT_DELETE_ACTIONS,
] as const;
export const APP_BUCKET_ACTIONS = [...BUCKET_LIST_ACTIONS, ...BUCKET_MULTIPART_LIST_ACTIONS] as const;

/**
 * The S3-API gateway (migrator/src/gateway, docs/gateway.md): on the new bucket what the app's store does there (read,
 * write and multipart, tombstones with their tag, delete, list); on the legacy bucket what the fallback and the
 * store's deletes need (list for the merged listing, read, delete: dual-read deletes legacy first), and PutObject
 * only in the modes that still write legacy (legacy-only, read-both-write-legacy).
 */
export const GATEWAY_NEW_OBJECT_ACTIONS = [...APP_OBJECT_ACTIONS] as const;
export const GATEWAY_NEW_BUCKET_ACTIONS = [...APP_BUCKET_ACTIONS] as const;
export const GATEWAY_LEGACY_OBJECT_ACTIONS = [...OBJECT_READ_ACTIONS, ...OBJECT_DELETE_ACTIONS] as const;
export const GATEWAY_LEGACY_WRITE_ACTIONS = ['s3:PutObject'] as const;
export const GATEWAY_LEGACY_BUCKET_ACTIONS = [...BUCKET_LIST_ACTIONS] as const;

/**
 * The migration writer: create objects and read them back for the audit. Overwrites stay impossible: the bucket policy
 * makes every write conditional. Its delete is WRITER_UNDO_ACTIONS, under a condition of its own.
 */
export const WRITER_OBJECT_ACTIONS = [...OBJECT_READ_ACTIONS, ...OBJECT_WRITE_ACTIONS] as const;
export const WRITER_BUCKET_ACTIONS = [...BUCKET_LIST_ACTIONS, ...BUCKET_MULTIPART_LIST_ACTIONS] as const;

/** The migration reader in the legacy account: list and read, nothing else. */
export const READER_OBJECT_ACTIONS = [...OBJECT_READ_ACTIONS, ...OBJECT_VERSION_READ_ACTIONS] as const;
export const READER_BUCKET_ACTIONS = [...BUCKET_LIST_ACTIONS] as const;

// ---- S3 Batch Operations (workspace switch batchOperations.enabled) ----------------------------------------------

/**
 * The function writes its logs to its own log group, which Terraform creates (so no logs:CreateLogGroup). AWS Lambda
 * Developer Guide, "Sending Lambda function logs to CloudWatch Logs": CreateLogStream and PutLogEvents.
 */
export const LOG_WRITE_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'] as const;

/** Read the codec's keys from their Secrets Manager secret (migrator/src/aws/codec-keys.ts, GetSecretValue). */
export const SECRET_READ_ACTIONS = ['secretsmanager:GetSecretValue'] as const;

/** Batch Operations reads the job's manifest; GetObjectVersion when the manifest names versions. */
export const MANIFEST_READ_ACTIONS = [...OBJECT_READ_ACTIONS, ...OBJECT_VERSION_READ_ACTIONS] as const;

/** Batch Operations writes the completion report (multipart uploads are authorized as s3:PutObject too). */
export const REPORT_WRITE_ACTIONS = ['s3:PutObject'] as const;

/**
 * The bucket's region, which Batch Operations looks up for the manifest and report bucket (the invoke-Lambda policy of
 * the S3 User Guide, "Granting permissions for Batch Operations", lists it). Granted on the bucket ARN.
 */
export const BUCKET_LOCATION_ACTIONS = ['s3:GetBucketLocation'] as const;

/** Batch Operations' LambdaInvoke operation calls the function synchronously, once per batch of tasks. */
export const LAMBDA_INVOKE_ACTIONS = ['lambda:InvokeFunction'] as const;

// ---- access logs (the log bucket of primary.accessLogs) --------------------------------------------------------

/** S3 server access logging delivers log objects as the logging service principal (logging.s3.amazonaws.com). */
export const LOG_DELIVERY_ACTIONS = ['s3:PutObject'] as const;

/**
 * CloudTrail checks the bucket's ACL before it delivers, then writes its log files (CloudTrail User Guide, "Amazon S3
 * bucket policy for CloudTrail").
 */
export const CLOUDTRAIL_ACL_CHECK_ACTIONS = ['s3:GetBucketAcl'] as const;
export const CLOUDTRAIL_DELIVERY_ACTIONS = ['s3:PutObject'] as const;

// ---- key rotation (primary.keyRotation.schedule: the Secrets Manager rotation function) ---------------------------

/**
 * The rotation function manages the access keys of the users it rotates (migrator/src/keys/access-keys.ts): list,
 * create, deactivate, delete. Granted on those users' ARNs only.
 */
export const ACCESS_KEY_ROTATION_ACTIONS = [
  'iam:ListAccessKeys',
  'iam:CreateAccessKey',
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
] as const;

/**
 * What a rotation function does with the secret it rotates (Secrets Manager User Guide, "Permissions for rotation
 * function execution roles": DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage), plus
 * ListSecretVersionIds, which migrator/src/keys/credentials-secret.ts reads the versions' dates with. Granted on the
 * credentials secrets only.
 */
export const SECRET_ROTATION_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
  'secretsmanager:ListSecretVersionIds',
] as const;
