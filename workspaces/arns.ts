/**
 * ARNs built from a workspace's names: the stacks' policies (stacks/policies.ts) and the data half (the migration
 * roles the migrator assumes, the function and role a Batch Operations job names) build them here alike.
 */

export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';

/** The AWS partition of a region (cn-* regions are aws-cn, us-gov-* are aws-us-gov). */
export function partitionOf(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The host name S3 uses as kms:ViaService in a region. */
export function s3ServiceHost(region: string): string {
  return partitionOf(region) === 'aws-cn' ? `s3.${region}.amazonaws.com.cn` : `s3.${region}.amazonaws.com`;
}

export function bucketArn(partition: Partition, bucket: string): string {
  return `arn:${partition}:s3:::${bucket}`;
}

export function objectsArn(bucketArnValue: string): string {
  return `${bucketArnValue}/*`;
}

export function iamArn(partition: Partition, accountId: string, kind: 'role' | 'user', name: string): string {
  return `arn:${partition}:iam::${accountId}:${kind}/${name}`;
}

/** An account as an IAM principal ("arn:aws:iam::111122223333:root": the account, whose IAM policies then decide). */
export function accountRootArn(partition: Partition, accountId: string): string {
  return `arn:${partition}:iam::${accountId}:root`;
}

/** The S3-API gateway's role (workspace `gateway.roleName`, in the primary account): the stacks and `--role-arn`. */
export function gatewayRoleArn(ws: {
  region: string;
  primary: { accountId: string };
  gateway: { roleName: string };
}): string {
  return iamArn(partitionOf(ws.region), ws.primary.accountId, 'role', ws.gateway.roleName);
}

/** The objects of a bucket under a key prefix ("photos/" -> arn:aws:s3:::bucket/photos/*). */
export function prefixObjectsArn(bucketArnValue: string, prefix: string): string {
  return `${bucketArnValue}/${prefix}*`;
}

export function lambdaFunctionArn(partition: Partition, region: string, accountId: string, name: string): string {
  return `arn:${partition}:lambda:${region}:${accountId}:function:${name}`;
}

/** The log streams of one log group (what CreateLogStream and PutLogEvents are authorized on). */
export function logStreamsArn(partition: Partition, region: string, accountId: string, logGroup: string): string {
  return `arn:${partition}:logs:${region}:${accountId}:log-group:${logGroup}:*`;
}

/**
 * A Secrets Manager secret named by the workspace: an ARN is used as given; a name is the secret of that name in the
 * caller's account and region. Secrets Manager appends a dash and 6 random characters to every secret's ARN, which
 * AWS's documented pattern matches with "-??????" (Secrets Manager User Guide, "Permissions policy examples").
 */
export function secretArn(partition: Partition, region: string, accountId: string, nameOrArn: string): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  return `arn:${partition}:secretsmanager:${region}:${accountId}:secret:${nameOrArn}-??????`;
}

/**
 * The codec's keys when they are in Secrets Manager (`codec.keys.secretsManager`): the secret in the primary account,
 * in the legacy bucket's region, where the migrator and the store read them (codec/index.ts) with their own
 * credentials. Undefined when the keys come from an environment variable or there are none.
 */
export function codecSecretArn(ws: {
  region: string;
  primary: { accountId: string };
  legacy: { region?: string };
  codec: { keys?: { env: string } | { secretsManager: string } };
}): string | undefined {
  const keys = ws.codec.keys;
  if (!keys || !('secretsManager' in keys)) return undefined;
  return secretArn(partitionOf(ws.region), ws.legacy.region ?? ws.region, ws.primary.accountId, keys.secretsManager);
}

export function cloudTrailArn(partition: Partition, region: string, accountId: string, trailName: string): string {
  return `arn:${partition}:cloudtrail:${region}:${accountId}:trail/${trailName}`;
}
