/**
 * Which S3 operation a request is, from its method, path (path-style: /<bucket>[/<key>]) and query. The operations
 * the gateway serves have a name here; anything else gets the name S3 gives it (from its sub-resource, e.g.
 * PUT ?tagging on a key = PutObjectTagging) so that the NotImplemented error says which operation was refused.
 * Both addressing styles are served: path-style, and virtual-hosted (Host: <bucket>.<gateway host>, the path then the
 * key alone: Amazon S3 User Guide, "Virtual hosting of buckets"), which SDKs use by default on a DNS-compatible bucket
 * name; `virtualHostBucket` tells them apart by the served bucket names.
 */
import { S3Error } from './errors';

export const SERVED = [
  'GetObject',
  'HeadObject',
  'PutObject',
  'DeleteObject',
  'DeleteObjects',
  'ListObjectsV2',
  'ListObjects',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'HeadBucket',
  'GetBucketLocation',
] as const;

export interface Route {
  /** The S3 operation's name. */
  readonly operation: string;
  readonly served: boolean;
  readonly bucket?: string;
  readonly key?: string;
  readonly query: Map<string, string>;
}

/** Sub-resources and the word S3's operation names use for them (GetBucketPolicy, PutObjectTagging...). */
const SUBRESOURCE: Record<string, string> = {
  acl: 'Acl',
  tagging: 'Tagging',
  policy: 'Policy',
  cors: 'Cors',
  lifecycle: 'LifecycleConfiguration',
  versioning: 'Versioning',
  website: 'Website',
  logging: 'Logging',
  notification: 'NotificationConfiguration',
  replication: 'Replication',
  encryption: 'Encryption',
  'object-lock': 'ObjectLockConfiguration',
  retention: 'Retention',
  'legal-hold': 'LegalHold',
  attributes: 'Attributes',
  torrent: 'Torrent',
  restore: 'Restore',
  select: 'Content',
  accelerate: 'AccelerateConfiguration',
  requestPayment: 'RequestPayment',
  ownershipControls: 'OwnershipControls',
  publicAccessBlock: 'PublicAccessBlock',
  analytics: 'AnalyticsConfiguration',
  metrics: 'MetricsConfiguration',
  inventory: 'InventoryConfiguration',
  'intelligent-tiering': 'IntelligentTieringConfiguration',
  policyStatus: 'PolicyStatus',
};

const VERB: Record<string, string> = { GET: 'Get', HEAD: 'Head', PUT: 'Put', DELETE: 'Delete', POST: 'Post' };

function decodePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
  }
}

/**
 * The bucket a virtual-hosted request names: its Host (port dropped, case folded) is "<bucket>.<the gateway's host>"
 * for one of the served buckets. Undefined: a path-style request (an IP address, or a host that starts with no served
 * bucket's name and a dot). The gateway's own host name must therefore not begin with a served bucket's name and a dot.
 */
export function virtualHostBucket(host: string | undefined, buckets: readonly string[]): string | undefined {
  if (!host) return undefined;
  const name = (host.startsWith('[') ? host : host.replace(/:\d+$/, '')).toLowerCase();
  return buckets
    .filter((b) => name.length > b.length + 1 && name.startsWith(`${b}.`))
    .sort((a, b) => b.length - a.length)[0];
}

export function route(
  method: string,
  rawPath: string,
  query: Map<string, string>,
  headers: Record<string, string | string[] | undefined>,
): Route {
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  const slash = path.indexOf('/');
  const bucket = decodePath(slash < 0 ? path : path.slice(0, slash)) || undefined;
  const key = slash < 0 || slash === path.length - 1 ? undefined : decodePath(path.slice(slash + 1));
  const r = (operation: string): Route => ({
    operation,
    served: (SERVED as readonly string[]).includes(operation),
    bucket,
    key,
    query,
  });
  const verb = VERB[method];
  if (!verb)
    throw new S3Error('MethodNotAllowed', 405, `The specified method ${method} is not allowed against this resource.`);

  if (!bucket) return r(method === 'GET' ? 'ListBuckets' : `${verb}Service`);
  const sub = Object.keys(SUBRESOURCE).find((s) => query.has(s));
  if (key === undefined) {
    if (sub) return r(`${verb}Bucket${SUBRESOURCE[sub]}`);
    if (method === 'POST' && query.has('delete')) return r('DeleteObjects');
    if (method === 'GET' && query.has('location')) return r('GetBucketLocation');
    if (method === 'GET' && query.has('uploads')) return r('ListMultipartUploads');
    if (method === 'GET' && query.has('versions')) return r('ListObjectVersions');
    if (method === 'GET') return r(query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects');
    if (method === 'HEAD') return r('HeadBucket');
    if (method === 'PUT') return r('CreateBucket');
    if (method === 'DELETE') return r('DeleteBucket');
    return r('PostObject');
  }
  if (sub) return r(`${verb}Object${SUBRESOURCE[sub]}`);
  const uploadId = query.has('uploadId');
  switch (method) {
    case 'GET':
      return r(uploadId ? 'ListParts' : 'GetObject');
    case 'HEAD':
      return r('HeadObject');
    case 'PUT':
      if (uploadId && query.has('partNumber')) return r(headers['x-amz-copy-source'] ? 'UploadPartCopy' : 'UploadPart');
      return r(headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject');
    case 'DELETE':
      return r(uploadId ? 'AbortMultipartUpload' : 'DeleteObject');
    default:
      if (query.has('uploads')) return r('CreateMultipartUpload');
      if (uploadId) return r('CompleteMultipartUpload');
      return r('PostObject');
  }
}
