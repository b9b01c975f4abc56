/** Step 2's companion: the plaintext's SHA-256 and size, taken as the bytes pass. */
import { createHash } from 'crypto';
import { Transform, type TransformCallback } from 'stream';
import { PermanentCopyError } from './classify';

export class PlaintextHasher extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  private digestHex?: string;

  /**
   * With `expect`, the stream fails at its end (before it ends) unless the bytes hash to it: the upload of a second
   * pass then aborts instead of completing with bytes that differ from the first pass.
   */
  constructor(private readonly expect?: { sha256: string; size: number }) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
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
    done();
  }

  /** The hex digest, once the stream has been read to its end. */
  get sha256(): string {
    if (!this.digestHex) throw new Error('PlaintextHasher: digest read before the stream ended');
    return this.digestHex;
  }
}
