/**
 * Reading SDK errors. Ceph RGW answers IAM and STS calls with S3-style XML errors, which the IAM and STS clients cannot
 * parse: they surface as name "Unknown". So the HTTP status ($metadata.httpStatusCode) is what to match on.
 */

/** The HTTP status of an SDK service error, or undefined for errors that never got an HTTP answer. */
export function httpStatusOf(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

/** The S3 error code (AccessDenied, NoSuchKey, PreconditionFailed, ...) where the SDK could parse one. */
export function errorCodeOf(err: unknown): string | undefined {
  const e = err as { Code?: unknown; name?: unknown } | null;
  if (typeof e?.Code === 'string') return e.Code;
  return typeof e?.name === 'string' && e.name !== 'Unknown' && e.name !== 'Error' ? e.name : undefined;
}

/** A 404 about the key (NoSuchKey, or a HEAD's bodiless NotFound), as opposed to a missing bucket. */
export function isNoSuchKey(err: unknown): boolean {
  const code = errorCodeOf(err);
  if (code === 'NoSuchBucket') return false;
  return code === 'NoSuchKey' || code === 'NotFound' || httpStatusOf(err) === 404;
}

/** One line about an SDK error for logs and CLI messages: code, status and message, never a stack or a key. */
export function describeAwsError(err: unknown): string {
  const status = httpStatusOf(err);
  const code = errorCodeOf(err);
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  const parts = [code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ');
  return parts && message && message !== code && message !== 'UnknownError' ? `${parts}: ${message}` : parts || message;
}
