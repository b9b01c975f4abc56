/**
 * Reads a stream whole, refusing (and destroying the source) as soon as it passes `maxBytes`, so an object that is
 * larger than its kind can be (a Fernet token, a manifest.json, a report manifest) cannot exhaust memory.
 */
import type { Readable } from 'stream';

export async function readBounded(
  source: Readable,
  maxBytes: number,
  tooLarge: (seenBytes: number) => Error,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buf.length;
    if (total > maxBytes) {
      source.destroy();
      throw tooLarge(total);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}
