/**
 * How the store fails. A read that S3 answers with 404 NoSuchKey is not an error (get/head return undefined); every
 * other failure is a StoreError that says which bucket ("new" or "legacy") and what kind, so an app can map it to a
 * status without looking at SDK internals. Messages are one line and never hold credentials or codec keys.
 */
import { describeAwsError, errorCodeOf, httpStatusOf, NETWORK_ERROR_CODES } from '../aws/errors';

export type StoreSide = 'new' | 'legacy';

export type StoreErrorKind =
  /** Not a usable object key (empty, longer than 1024 bytes of UTF-8, or holding control characters). */
  | 'invalid-key'
  /** S3 refused the credentials or the action (401/403): a configuration problem, never a reason to fall back. */
  | 'denied'
  /** The bucket itself is missing (NoSuchBucket): a configuration problem. */
  | 'no-bucket'
  /** S3 did not answer in time, answered 5xx or throttled, or the connection failed. Worth retrying later. */
  | 'unavailable'
  /** The legacy object did not authenticate or is not the codec's format: its bytes are never served. */
  | 'corrupt'
  /** The object is larger than this store serves or the codec reads whole. */
  | 'too-large'
  /** Anything else S3 refused (another 4xx). */
  | 'failed';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly kind: StoreErrorKind,
    readonly side: StoreSide | undefined,
    message: string,
    /** The S3 error code or the codec's kind, when there is one. */
    readonly code?: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/** Wraps an SDK (or network) error of one side and operation into a StoreError. */
export function storeErrorOf(err: unknown, side: StoreSide, op: string): StoreError {
  if (err instanceof StoreError) return err;
  const status = httpStatusOf(err);
  const code = errorCodeOf(err) ?? (err as { code?: string } | null)?.code;
  const what = `${op} on the ${side} bucket failed: ${describeAwsError(err)}`;
  if (code === 'NoSuchBucket') return new StoreError('no-bucket', side, what, code, status);
  if (status === 401 || status === 403) return new StoreError('denied', side, what, code, status);
  if (
    status === undefined ||
    status >= 500 ||
    status === 429 ||
    status === 408 ||
    (code !== undefined &&
      (NETWORK_ERROR_CODES.has(code) || code === 'TimeoutError' || code === 'RequestTimeout' || code === 'SlowDown'))
  ) {
    return new StoreError('unavailable', side, what, code, status);
  }
  return new StoreError('failed', side, what, code, status);
}

/** S3's key rules: 1 to 1024 bytes of UTF-8. Control characters are refused too (XML responses cannot carry them). */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new StoreError('invalid-key', undefined, 'the photo key is empty');
  if (Buffer.byteLength(key, 'utf8') > 1024)
    throw new StoreError(
      'invalid-key',
      undefined,
      'the photo key is longer than 1024 bytes (UTF-8), the most S3 allows',
    );
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key))
    throw new StoreError('invalid-key', undefined, 'the photo key holds control characters');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(key))
    throw new StoreError('invalid-key', undefined, 'the photo key is not valid Unicode');
  return key;
}
