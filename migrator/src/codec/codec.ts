/**
 * The legacy codec: the home-grown encryption the legacy app applied before upload. The migrator and the store's
 * read fallback decrypt with it; only the seeder and the tests encrypt.
 */
import type { Readable } from 'stream';

/** What a codec may know about the object it works on. */
export interface ObjectContext {
  /** The object key (AES-GCM can bind it as additional authenticated data). */
  readonly key: string;
  /** The stored (ciphertext) size in bytes, when known (from ListObjects or the GET's Content-Length). */
  readonly size?: number;
  /**
   * The same stored bytes again (a new GET pinned to the same ETag), for a codec that must read a large object twice
   * to stream it: with several keys, a first read finds the key by its MAC (codec/several-keys.ts). Without it such a
   * codec reads the object whole, up to its `maxObjectBytes`.
   */
  readonly reread?: () => Promise<Readable>;
}

export interface Codec {
  /** A short name for logs and reports, e.g. "fernet". Never holds key material. */
  readonly name: string;
  /**
   * True when `decrypt` fails unless every stored byte is authentic (an AEAD like AES-GCM, or encrypt-then-MAC like
   * Fernet): a corrupted GET body then fails the copy whatever S3's response checksum says, so the migrator need not
   * validate that checksum as well (objects/read-legacy.ts). Absent (a plug-in): not assumed.
   */
  readonly authenticated?: boolean;
  /**
   * Decrypts a legacy object's stored bytes. The returned stream emits the plaintext and fails with a CodecError
   * BEFORE it ends whenever the object does not authenticate, so a consumer that commits only on a clean end never
   * commits bad bytes. Formats that must be read whole say so and refuse objects above their size bound.
   */
  decrypt(stored: Readable, ctx: ObjectContext): Readable;
  /** The exact plaintext size for a stored size, when the format fixes it (AES-GCM: size - 28); else undefined. */
  plaintextSize(storedSize: number): number | undefined;
  /**
   * The bytes `decrypt` holds at most for an object of this stored size when the caller gives `reread`: a few chunks
   * when it streams, the object (or a multiple) where it reads whole. The migrator's memory budget reserves it; the
   * model is workspaces/codec-memory.ts. A plug-in that does not declare it is assumed to hold 4x the object.
   */
  memoryNeed(storedSize: number): number;
  /**
   * Encrypts like the legacy app did, with the first (current) key. For the seeder, the tests, and the store's
   * legacy-only mode (which writes as the legacy app did).
   */
  encrypt(plaintext: Buffer, ctx: ObjectContext): Buffer;
}

/**
 * How a codec failed on one object. Messages never contain key material. (A codec's unusable configuration or keys
 * is a ConfigError instead: it is the operator's to fix, not the object's.)
 */
export type CodecErrorKind =
  /** Authentication failed: the wrong key(s), or the bytes were tampered with. */
  | 'auth'
  /** The bytes are not in this codec's format at all. */
  | 'format'
  /** The bytes are this codec's format but end early. */
  | 'truncated'
  /** The object is larger than the codec's bound for an object it must read whole. */
  | 'too-large';

export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly kind: CodecErrorKind,
    message: string,
  ) {
    super(message);
  }
}
