/**
 * The memory model of one object's copy: what the legacy codec holds while it decrypts the object, and what the copy
 * path holds beside it. One pure module (arithmetic, no I/O, no runtime import) shared by the three places that must
 * agree on it: the codecs declare their need with it (migrator/src/codec), the migrator's memory budget reserves it per
 * object (migrator/src/migrate/dispatcher.ts), and synth sizes the Batch Operations function with it (stacks/), which
 * must not import the migrator's runtime.
 *
 * The figures are bytes of object data; a process adds its baseline (code, clients, heap) and the garbage its
 * collector has not reclaimed yet (COLLECTOR_SLACK_BYTES), both measured (BENCHMARKS.md, "Memory").
 */
import type { CodecConfig } from './schema';
import { KIB, MIB } from './units';

/**
 * A streaming decrypt holds a few chunks of a GET (16-64 KiB each), the held-back MAC and the ciphers' state: measured
 * at 120-200 KiB of live Buffers for Fernet and AES-GCM (test/migrate/memory-budget.test.ts); declared with room.
 */
export const STREAM_HELD_BYTES = 1 * MIB;

/**
 * With several keys, an object up to this stored size is read once and kept whole while every key's MAC is computed;
 * a larger one is read twice (the first read finds the key) where the caller can read it again (codec/several-keys.ts).
 */
export const SEVERAL_KEYS_WHOLE_READ_MAX = 8 * MIB;

/** A plug-in codec that declares no memory need is assumed to read whole and hold this many times the object. */
export const PLUGIN_DEFAULT_FACTOR = 4;

/** How a codec holds an object while it decrypts it. */
export type DecryptMemory =
  /** One key (or Fernet keys that share the encryption half): a few chunks, whatever the size. */
  | { readonly kind: 'streams' }
  /** Several keys: kept whole up to SEVERAL_KEYS_WHOLE_READ_MAX, read twice above. */
  | { readonly kind: 'several-keys' }
  /** A format read whole: `factor` times the stored size. */
  | { readonly kind: 'whole'; readonly factor: number };

/** Bytes a codec of this kind holds for an object of `storedSize` bytes (read twice where it must be). */
export function decryptMemoryNeed(m: DecryptMemory, storedSize: number): number {
  switch (m.kind) {
    case 'streams':
      return STREAM_HELD_BYTES;
    case 'several-keys':
      return STREAM_HELD_BYTES + (storedSize <= SEVERAL_KEYS_WHOLE_READ_MAX ? storedSize : 0);
    case 'whole':
      return STREAM_HELD_BYTES + Math.ceil(m.factor * storedSize);
  }
}

/**
 * A workspace codec setting's decrypt memory. `keyCount` is known once the keys are resolved (the migrator); where it
 * is not (synth), several keys are assumed, the greater need. A plug-in's own declaration is not visible here.
 */
export function decryptMemoryOf(codec: Pick<CodecConfig, 'type'>, keyCount?: number): DecryptMemory {
  if (codec.type === 'plugin') return { kind: 'whole', factor: PLUGIN_DEFAULT_FACTOR };
  return keyCount === 1 ? { kind: 'streams' } : { kind: 'several-keys' };
}

/**
 * How the copy path writes (objects/write-new.ts): one PUT up to partSize, multipart above, queueSize parts in flight.
 */
export interface CopyWindow {
  readonly partSize: number;
  readonly queueSize: number;
}

/**
 * What the copy path holds beside the codec (migrate/copy-object.ts): a small object (stored size up to the part size)
 * whole for its single PUT, its plaintext's chunks and their concatenation; a large one its multipart window
 * (lib-storage's Upload: `queueSize` parts in flight, one being filled and its concatenation).
 */
export function copyPathNeed(storedSize: number, w: CopyWindow): number {
  return storedSize <= w.partSize ? 2 * storedSize + 64 * KIB : (w.queueSize + 2) * w.partSize;
}

/** The bytes one object's copy holds: the copy path and the codec. */
export function objectMemoryNeed(codecNeed: (storedSize: number) => number, storedSize: number, w: CopyWindow): number {
  return copyPathNeed(storedSize, w) + codecNeed(storedSize);
}

/**
 * The most any object up to `largest` stored bytes holds. The need is largest at a size where the copy path or the
 * codec changes its way (the part size, the whole-read bound) or at `largest` itself.
 */
export function largestObjectNeed(codecNeed: (storedSize: number) => number, largest: number, w: CopyWindow): number {
  const sizes = [
    largest,
    w.partSize,
    w.partSize + 1,
    SEVERAL_KEYS_WHOLE_READ_MAX,
    SEVERAL_KEYS_WHOLE_READ_MAX + 1,
  ].filter((s) => s <= largest);
  return Math.max(...sizes.map((s) => objectMemoryNeed(codecNeed, s, w)));
}

/** The copy path's default parts: the CLI's `--part-size` and the Batch Operations function (one task at a time). */
export const DEFAULT_COPY_WINDOW: CopyWindow = { partSize: 8 * MIB, queueSize: 4 };

/**
 * Garbage the collector has not reclaimed yet, on top of the live object data: V8 collects Buffers (memory outside its
 * heap) once that memory has grown by about 64 MiB since its last collection, and later when the cores are busy, so a
 * process streaming objects carries that much dead data and more. Measured (npm run bench:memory, on a loaded machine):
 * 54-80 MiB of peak RSS above the baseline and the live bytes this model gives, over every codec and object size,
 * through the CLI and the function. The CLI's --memory keeps this much aside, so that its peak RSS stays within
 * --memory + its baseline (migrate/dispatcher.ts); the function's sizing adds it.
 */
export const COLLECTOR_SLACK_BYTES = 88 * MIB;

/** Measured (bench:memory): the RSS of the function's bundle after a first task (clients, codec, SDK): 84-85 MiB. */
export const BATCH_FUNCTION_BASELINE_MIB = 90;

/** The memory (MB, as Lambda counts it: MiB) the function needs to copy any object up to `largest` stored bytes. */
export function batchFunctionMemoryMb(codec: Pick<CodecConfig, 'type'>, largest: number): number {
  const m = decryptMemoryOf(codec);
  const objects = largestObjectNeed((s) => decryptMemoryNeed(m, s), largest, DEFAULT_COPY_WINDOW);
  return Math.ceil(BATCH_FUNCTION_BASELINE_MIB + (COLLECTOR_SLACK_BYTES + objects) / MIB);
}
