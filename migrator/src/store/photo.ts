/** What the store hands out: a photo's bytes (a stream) and what describes them. */
import type { Readable } from 'stream';
import type { StoreSide } from './errors';

export interface PhotoInfo {
  /** The bucket that served it: "legacy" for a fallback (or in legacy-only mode). */
  readonly source: StoreSide;
  readonly contentType?: string;
  /** The plaintext length, when known (a Fernet fallback's HEAD cannot know it without decrypting). */
  readonly contentLength?: number;
  /** The ETag of the object it was read from (on a fallback, the legacy ciphertext's), quoted as S3 sends it. */
  readonly etag?: string;
  readonly lastModified?: Date;
  /** The object's user metadata (keys lowercased, as S3 returns them). */
  readonly metadata: Record<string, string>;
}

export interface Photo extends PhotoInfo {
  /**
   * The plaintext. A fallback read of up to the store's buffer size is decrypted and authenticated whole before the
   * photo is returned (a bad object is an error, never bytes); a larger one streams, and the stream fails before its
   * end if the object does not authenticate, so a consumer must treat only a clean end as success.
   */
  readonly body: Readable;
}

export interface PutOptions {
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  /** User metadata. Keys starting with "bucketmove-" are dropped: only the migration writes provenance. */
  readonly metadata?: Record<string, string>;
}

export interface PutResult {
  readonly etag?: string;
  readonly versionId?: string;
  readonly size: number;
}

/** User metadata an app may set: everything but the migration's provenance keys. */
export function appMetadata(meta: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(meta ?? {}).filter(([k]) => !k.toLowerCase().startsWith('bucketmove-')));
}
