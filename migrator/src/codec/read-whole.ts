import { Readable } from 'stream';
import { readBounded } from '../read-bounded';
import { CodecError } from './codec';

/**
 * Reads a stream whole, refusing (and destroying the source) as soon as it passes `maxBytes`, so a huge object
 * cannot exhaust memory. If `expectedSize` is given and fewer bytes arrive, the object is reported truncated.
 */
export async function readWhole(source: Readable, maxBytes: number, expectedSize?: number): Promise<Buffer> {
  if (expectedSize !== undefined && expectedSize > maxBytes) {
    source.destroy();
    throw tooLarge(expectedSize, maxBytes);
  }
  const whole = await readBounded(source, maxBytes, (seen) => tooLarge(seen, maxBytes));
  const total = whole.length;
  if (expectedSize !== undefined && total < expectedSize) {
    throw new CodecError('truncated', `object ended after ${total} of ${expectedSize} bytes`);
  }
  return whole;
}

function tooLarge(size: number, maxBytes: number): CodecError {
  return new CodecError(
    'too-large',
    `object exceeds ${maxBytes} bytes (at least ${size}), the bound for a format that must be read whole; raise codec.maxObjectBytes if memory allows`,
  );
}

/**
 * The plaintext stream of a format that must be read whole: reads `stored` (bounded), then decrypts it with `open`.
 * Every check happens before the first byte is emitted, so the stream fails before its end on any bad object.
 */
export function decryptWhole(stored: Readable, maxBytes: number, expectedSize: number | undefined, open: (bytes: Buffer) => Buffer): Readable {
  async function* plaintext(): AsyncGenerator<Buffer> {
    const out = open(await readWhole(stored, maxBytes, expectedSize));
    if (out.length > 0) yield out;
  }
  return Readable.from(plaintext(), { objectMode: false });
}
