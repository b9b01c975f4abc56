/**
 * Decrypting with several keys (rotation) when the format does not name its key: which key opens an object is known
 * only at its end, where its MAC is, but a plaintext stream needs the key at its first byte. So:
 *
 * - An object up to SEVERAL_KEYS_WHOLE_READ_MAX bytes is read once: every key's MAC is computed as the bytes arrive and
 *   the bytes are kept; at the end the key that verified decrypts the kept bytes. Memory: the object.
 * - A larger one is read twice when the caller can read it again (`ctx.reread`, pinned to the same ETag: the copy path,
 *   the store's fallback and the audit give it): the first read computes every key's MAC and keeps nothing (an object
 *   of unknown size is kept until it passes the bound, then let go); the second streams with the key found, and checks
 *   its MAC again. Memory: a chunk.
 * - Without `reread`, any size is read once and kept, up to the codec's `maxObjectBytes` (`too-large` above).
 *
 * Either way the plaintext stream fails before its end when no key verifies, as the one-key streams do.
 */
import { PassThrough, Readable, type Transform } from 'stream';
import { pipeline } from 'stream/promises';
import { SEVERAL_KEYS_WHOLE_READ_MAX } from '../../../workspaces/codec-memory';
import { CodecError, type ObjectContext } from './codec';

export interface SeveralKeysFormat {
  /**
   * Reads `stored` to its end, computing every key's MAC; `keep` (on a whole read) receives the bytes to decrypt later,
   * as `decryptWith` reads them. Resolves with the index of the key that verifies, or rejects with the CodecError.
   */
  authenticate(stored: Readable, ctx: ObjectContext, keep?: (bytes: Buffer) => void): Promise<number>;
  /** The one-key plaintext stream of what `authenticate` kept (`kept`), or of the stored bytes read again. */
  decryptWith(keyIndex: number, ctx: ObjectContext, kept: boolean): Transform;
}

export function decryptWithSeveralKeys(
  format: SeveralKeysFormat,
  stored: Readable,
  ctx: ObjectContext,
  maxWholeBytes: number,
): Readable {
  const out = new PassThrough();
  const { reread } = ctx;
  const keepUpTo = reread ? SEVERAL_KEYS_WHOLE_READ_MAX : maxWholeBytes;
  if (!reread && ctx.size !== undefined && ctx.size > maxWholeBytes) {
    stored.destroy();
    return out.destroy(tooLarge(ctx.size, maxWholeBytes));
  }
  // Keep the bytes while the object may be small; an object of unknown size that turns out large is read again.
  let keeping = ctx.size === undefined || ctx.size <= keepUpTo;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  const keep = (bytes: Buffer) => {
    if (!keeping) return;
    keptBytes += bytes.length;
    if (keptBytes <= keepUpTo) return void kept.push(bytes);
    if (!reread) throw tooLarge(keptBytes, maxWholeBytes);
    keeping = false;
    kept.length = 0;
  };
  let authenticated = false;
  // A consumer that stops early stops the first read too (the second is the pipeline's).
  out.once('close', () => {
    if (!authenticated) stored.destroy();
  });
  (async () => {
    const keyIndex = await format.authenticate(stored, ctx, keeping ? keep : undefined);
    authenticated = true;
    if (out.destroyed) return;
    const source = keeping ? drain(kept) : await reread!();
    await pipeline(source, format.decryptWith(keyIndex, ctx, keeping), out);
  })().catch((err: unknown) => out.destroy(err as Error));
  return out;
}

/** The kept bytes as a stream that lets go of each chunk once it is read. */
function drain(kept: Buffer[]): Readable {
  return Readable.from(
    (function* () {
      while (kept.length) yield kept.shift()!;
    })(),
    { objectMode: false },
  );
}

function tooLarge(size: number, maxBytes: number): CodecError {
  return new CodecError(
    'too-large',
    `object exceeds ${maxBytes} bytes (at least ${size}), the bound for reading an object whole when there are several keys and it cannot be read twice; raise codec.maxObjectBytes if memory allows`,
  );
}
