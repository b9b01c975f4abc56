import type { Readable } from 'stream';
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
