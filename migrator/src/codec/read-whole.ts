import type { Readable } from 'stream';
import { readBounded } from '../read-bounded';
import { CodecError } from './codec';

/**
 * Reads a (plaintext) stream whole, refusing (and destroying the source) as soon as it passes `maxBytes`, so a huge
 * object cannot exhaust memory: the store's fallback decrypts a small photo whole before it serves a byte.
 */
export async function readWhole(source: Readable, maxBytes: number): Promise<Buffer> {
  return readBounded(
    source,
    maxBytes,
    (seen) =>
      new CodecError(
        'too-large',
        `object exceeds ${maxBytes} bytes (at least ${seen}), the most that is read whole here`,
      ),
  );
}
