/**
 * How to name a bucket in a request. On AWS a bucket name is global. On Ceph RGW, which models accounts as tenants, a
 * bare name means "in the caller's tenant"; a bucket of another tenant is addressed as `tenant:bucket` (path-style; the
 * SDK sends the colon as %3A and RGW accepts it). The caller's tenant is the tenant of its keys, and for an STS session
 * the tenant of the assumed role: a session of the legacy reader role is in the legacy tenant and names the legacy
 * bucket bare.
 */
export function bucketAddress(args: {
  bucket: string;
  /** The account (tenant) that owns the bucket. */
  bucketAccount: string;
  /** The account (tenant) of the credentials the request is signed with (for a role session: the role's). */
  callerAccount: string;
  /** Whether the server is S3-compatible (RGW) rather than AWS. */
  s3Compatible: boolean;
}): string {
  if (!args.s3Compatible || args.bucketAccount === args.callerAccount) return args.bucket;
  return `${args.bucketAccount}:${args.bucket}`;
}
