/**
 * Step 2's companion: the plaintext's SHA-256 and size, taken as the bytes pass; with `fullObjectChecksum`, also its
 * CRC32 for a one-pass upload (objects/write-large.ts), from the same bytes in the same pass.
 */
import { createHash } from 'crypto';
import { Transform, type TransformCallback } from 'stream';
import { FullObjectChecksum } from '../objects/write-large';
import { PermanentCopyError } from './classify';

export class PlaintextHasher extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  private digestHex?: string;
  private readonly crc?: FullObjectChecksum;
  private crcBase64?: string;
  private readonly expect?: { sha256: string; size: number };

  /**
   * With `expect`, the stream fails at its end (before it ends) unless the bytes hash to it: the upload of a second
   * pass then aborts instead of completing with bytes that differ from the first pass.
   */
  constructor(o: { expect?: { sha256: string; size: number }; fullObjectChecksum?: boolean } = {}) {
    super();
    this.expect = o.expect;
    if (o.fullObjectChecksum) this.crc = new FullObjectChecksum();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.crc?.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.digestHex = this.hash.digest('hex');
    if (this.expect && (this.expect.sha256 !== this.digestHex || this.expect.size !== this.size)) {
      done(
        new PermanentCopyError(
          'PlaintextChanged',
          'the plaintext differs between the hashing pass and the upload pass',
        ),
      );
      return;
    }
    if (!this.crc) return done();
    this.crc.digest().then(
      (crc) => {
        this.crcBase64 = crc;
        done();
      },
      (err: Error) => done(err),
    );
  }

  /** The CRC32 (base64) of a hasher made with `fullObjectChecksum`, once the stream has ended. */
  get fullObjectCrc(): string {
    if (!this.crcBase64) throw new Error('PlaintextHasher: checksum read before the stream ended');
    return this.crcBase64;
  }

  /** Whether the stream has been read to its end (the digest is known). */
  get finished(): boolean {
    return this.digestHex !== undefined;
  }

  /** The hex digest, once the stream has been read to its end. */
  get sha256(): string {
    if (!this.digestHex) throw new Error('PlaintextHasher: digest read before the stream ended');
    return this.digestHex;
  }
}
