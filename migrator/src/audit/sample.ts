/**
 * `--sample N`: a uniform random sample of N keys out of a stream of unknown length (reservoir sampling, Algorithm R),
 * memory N. The generator is seeded, and the seed goes into the report, so a sample can be drawn again.
 */
import { createHash, randomBytes } from 'crypto';

/** A small seeded PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSeed(): string {
  return randomBytes(8).toString('hex');
}

export class Reservoir<T> {
  private readonly items: T[] = [];
  private seen = 0;
  private readonly random: () => number;

  constructor(
    readonly size: number,
    readonly seed: string,
  ) {
    this.random = seededRandom(seed);
  }

  offer(item: T): void {
    this.seen++;
    if (this.items.length < this.size) {
      this.items.push(item);
      return;
    }
    const j = Math.floor(this.random() * this.seen);
    if (j < this.size) this.items[j] = item;
  }

  /** How many items were offered. */
  get offered(): number {
    return this.seen;
  }

  sample(): T[] {
    return [...this.items];
  }
}
