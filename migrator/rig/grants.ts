/**
 * The rights the rig gives its principals, the way the stacks give them on AWS, from the same action constants
 * (stacks/perms.ts): the app user reads, writes, lists and deletes its one bucket; the reader role lists and reads the
 * legacy bucket; the writer role creates objects in the new bucket, reads them back, and deletes only to undo a copy
 * that raced the app's delete (with If-Match on AWS; see below).
 *
 * What RGW 16 cannot take is left out, and said here: no kms:* statements (RGW's "testing" KMS backend has no key
 * policies), no bucket policy on the new bucket (its conditions need TLS and s3:if-none-match, which RGW does not
 * evaluate), the trust policy's sts:ExternalId condition only where the server evaluates it (see accounts.ts), and the
 * If-Match condition of the writer's delete (stacks/policies.ts UNDO_ONLY_WITH_IF_MATCH): RGW 16 does not evaluate
 * s3:if-match (measured: with the stacks' condition it refuses every delete, If-Match sent or not; a Null test alone on
 * it passes whatever its value) and ignores If-Match on DeleteObject anyway. So on the rig the writer's delete is
 * unconditional; the migrator sends If-Match all the same, and test/stacks/iam.test.ts checks the condition as AWS
 * evaluates it.
 */

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Array<{
    Effect: 'Allow' | 'Deny';
    Principal?: { AWS: string[] };
    Action: string[];
    Resource?: string[];
    Condition?: Record<string, Record<string, string>>;
  }>;
}

import {
  APP_BUCKET_ACTIONS,
  APP_OBJECT_ACTIONS,
  ASSUME_ROLE_ACTIONS,
  READER_BUCKET_ACTIONS,
  READER_OBJECT_ACTIONS,
  WRITER_BUCKET_ACTIONS,
  WRITER_OBJECT_ACTIONS,
  WRITER_UNDO_ACTIONS,
} from '../../stacks/perms';

/** RGW resolves a bucket ARN without an account to the caller's own tenant, as AWS resolves it globally. */
const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;

function bucketPolicy(bucket: string, bucketActions: string[], objectActions: string[]): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: bucketActions, Resource: [bucketArn(bucket)] },
      { Effect: 'Allow', Action: objectActions, Resource: [`${bucketArn(bucket)}/*`] },
    ],
  };
}

/** An app user (the primary app, and the legacy app on its legacy bucket): read, write, list, delete. */
export const appUserPolicy = (bucket: string) => bucketPolicy(bucket, [...APP_BUCKET_ACTIONS], [...APP_OBJECT_ACTIONS]);

/** The migration reader role in the legacy account: list and read. */
export const readerRolePolicy = (bucket: string) =>
  bucketPolicy(bucket, [...READER_BUCKET_ACTIONS], [...READER_OBJECT_ACTIONS]);

/** The migration writer role in the primary account: create objects, read and list them, undo a raced copy. */
export const writerRolePolicy = (bucket: string) =>
  bucketPolicy(bucket, [...WRITER_BUCKET_ACTIONS], [...WRITER_OBJECT_ACTIONS, ...WRITER_UNDO_ACTIONS]);

/** Who may assume a migration role; with the ExternalId condition when `externalId` is given. */
export function trustPolicy(principals: readonly string[], externalId?: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: [...principals] },
        Action: [...ASSUME_ROLE_ACTIONS],
        ...(externalId ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
      },
    ],
  };
}
