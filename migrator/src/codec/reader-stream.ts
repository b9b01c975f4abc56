import { Transform, type TransformCallback } from 'stream';

/**
 * Reads one object chunk by chunk (emitting plaintext as it goes); `end` runs the checks at the end, throwing on
 * failure.
 */
export interface ChunkReader {
  write(chunk: Buffer): void;
  end(expectedSize?: number): unknown;
}

/**
 * A ChunkReader as a plaintext stream: what the reader emits is pushed as it comes, and a failure (a chunk refused, or
 * the checks at the end) fails the stream instead of ending it, so a consumer that commits only on a clean end never
 * commits bad bytes. `expectedSize`: the stored size S3 gave, for the reader's truncation check.
 */
export class ReaderStream extends Transform {
  private readonly reader: ChunkReader;

  constructor(
    makeReader: (emit: (plaintext: Buffer) => void) => ChunkReader,
    private readonly expectedSize?: number,
  ) {
    super();
    this.reader = makeReader((b) => this.push(b));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.reader.write(chunk);
    } catch (err) {
      return done(err as Error);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      this.reader.end(this.expectedSize);
    } catch (err) {
      return done(err as Error);
    }
    done();
  }
}
