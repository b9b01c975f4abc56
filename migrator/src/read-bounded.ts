/**
 * Reads a stream whole. `readBounded` refuses (and destroys the source) as soon as it passes `maxBytes`, so an object
 * that is larger than its kind can be (a Fernet token, a manifest.json, a report manifest) cannot exhaust memory;
 * `readAll` is for a stream whose length is bounded already (a small object's plaintext, checked against the part
 * size).
 */
import type { Readable } from 'stream';

export function readBounded(
  source: Readable,
  maxBytes: number,
  tooLarge: (seenBytes: number) => Error,
): Promise<Buffer> {
  return collect(source, { maxBytes, tooLarge });
}

export function readAll(source: Readable): Promise<Buffer> {
  return collect(source);
}

async function collect(
  source: Readable,
  limit?: { maxBytes: number; tooLarge: (seenBytes: number) => Error },
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buf.length;
    if (limit && total > limit.maxBytes) {
      source.destroy();
      throw limit.tooLarge(total);
    }
    chunks.push(buf);
  }
  // One chunk (a small object decrypted in one piece) is returned as it is: no copy.
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}
