/**
 * A streamed request body sent as SigV4 signed chunks (`x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD`,
 * `Content-Encoding: aws-chunked`; "Signature Calculations for the Authorization Header: Transferring Payload in
 * Multiple Chunks", Amazon S3 API Reference, sigv4-streaming.html):
 *
 *   <hex size>;chunk-signature=<sig>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n\r\n
 *
 * Each chunk's signature is HMAC-SHA256(signing key, "AWS4-HMAC-SHA256-PAYLOAD" \n time \n scope \n previous signature
 * \n SHA-256("") \n SHA-256(data)), the first chunk's previous signature being the request's own (the seed). The server
 * recomputes it over the bytes it received and refuses the request on the first chunk that differs: the bytes are
 * checked as they stream, with no hash of the whole needed before the first byte (what a single PutObject's
 * x-amz-content-sha256 or x-amz-checksum-sha256 header needs). The gateway decodes the same framing
 * (gateway/aws-chunked.ts).
 *
 * The last data chunk leaves only when the stream it encodes has ended cleanly: a chunk is sent once more than
 * `chunkSize` bytes wait, so at least one byte is always held back until the end. A source that fails at its end (a
 * codec whose authentication tag does not verify) therefore never completes the body, and the server, which counts
 * the decoded bytes against x-amz-decoded-content-length, stores nothing.
 */
import { createHash } from 'crypto';
import { Transform, type TransformCallback } from 'stream';
import { EMPTY_SHA256, hmacHex, type RequestSignature } from './sigv4';

export const STREAMING_SIGNED_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';

/**
 * The smallest chunk S3 takes (all but the last: "each chunk must be at least 8 KB"), and the size used: 1 MiB. The
 * server pays per chunk, the client the same either way (the same bytes hashed): against 256 KiB chunks, a 1 GiB copy
 * on the rig was the faster in 5 of 6 rounds where the two builds took turns at going first, by about 1.5% (RGW about
 * 0.15 s less CPU; npm run bench:large-object with BENCH_BASE_DIST, BENCHMARKS.md). One chunk, at most 1 MiB plus the
 * piece that arrived last, is all the encoder holds, well within a large object's reserved window
 * (workspaces/codec-memory.ts copyPathNeed).
 */
export const MIN_CHUNK_SIZE = 8 * 1024;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

const SIGNATURE_FIELD = ';chunk-signature=';

/** The length on the wire of `decodedLength` bytes framed in chunks of `chunkSize` (Content-Length of the request). */
export function signedChunkedLength(decodedLength: number, chunkSize: number = DEFAULT_CHUNK_SIZE): number {
  const frame = (size: number) => size.toString(16).length + SIGNATURE_FIELD.length + 64 + 2 + size + 2;
  const full = decodedLength === 0 ? 0 : Math.ceil(decodedLength / chunkSize) - 1;
  const last = decodedLength - full * chunkSize;
  return full * frame(chunkSize) + (last > 0 ? frame(last) : 0) + frame(0);
}

/**
 * Frames a byte stream of exactly `decodedLength` bytes as signed chunks. Fails (before it ends) when its source
 * brings more or fewer bytes; holds at most `chunkSize` bytes plus the piece that arrived last.
 */
export class SignedChunkEncoder extends Transform {
  private readonly pieces: Buffer[] = [];
  private waiting = 0;
  private seen = 0;
  private previous: string;

  constructor(
    private readonly seed: RequestSignature,
    private readonly decodedLength: number,
    private readonly chunkSize: number = DEFAULT_CHUNK_SIZE,
  ) {
    super();
    if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE) {
      throw new RangeError(`a signed chunk must be at least ${MIN_CHUNK_SIZE} bytes (got ${chunkSize})`);
    }
    this.previous = seed.signature;
  }

  override _transform(piece: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += piece.length;
    if (this.seen > this.decodedLength) {
      done(new Error(`the body brought more than the ${this.decodedLength} bytes its request declared`));
      return;
    }
    this.pieces.push(piece);
    this.waiting += piece.length;
    while (this.waiting > this.chunkSize) this.sendChunk(this.takeWaiting(this.chunkSize));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.seen !== this.decodedLength) {
      done(new Error(`the body ended after ${this.seen} of the ${this.decodedLength} bytes its request declared`));
      return;
    }
    if (this.waiting > 0) this.sendChunk(this.takeWaiting(this.waiting));
    this.sendChunk([]);
    done();
  }

  /** The first `n` bytes waiting, as the pieces they are in (a piece split where the chunk ends). */
  private takeWaiting(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const head = this.pieces[0];
      if (head.length <= left) {
        out.push(head);
        this.pieces.shift();
        left -= head.length;
      } else {
        out.push(head.subarray(0, left));
        this.pieces[0] = head.subarray(left);
        left = 0;
      }
    }
    this.waiting -= n;
    return out;
  }

  private sendChunk(data: Buffer[]): void {
    const hash = createHash('sha256');
    let size = 0;
    for (const d of data) {
      hash.update(d);
      size += d.length;
    }
    const { amzDate, scope, key } = this.seed;
    const signature = hmacHex(
      key,
      `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${this.previous}\n${EMPTY_SHA256}\n${hash.digest('hex')}`,
    );
    this.previous = signature;
    this.push(`${size.toString(16)}${SIGNATURE_FIELD}${signature}\r\n`, 'latin1');
    for (const d of data) this.push(d);
    this.push('\r\n', 'latin1');
  }
}
