/**
 * The store's counters, in process: what an app exports to its metrics system (the reference service serves them as
 * JSON on /metrics). A fallback hit is a read the new bucket answered 404 and the legacy bucket served; a fallback
 * miss is a read neither bucket had. When fallback hits stay at zero, the fallback is dead code and can go.
 */
import type { StoreSide } from './errors';

export interface StoreCounts {
  /** Successful reads (get and head) by the bucket that served them. */
  readonly reads: Record<StoreSide, number>;
  /** dual-read and read-both-write-legacy: served from legacy after the new bucket said 404. */
  readonly fallbackHits: number;
  /** dual-read and read-both-write-legacy: the new bucket said 404 and so did the legacy one. */
  readonly fallbackMisses: number;
  /** Reads that found nothing (in every mode; fallback misses included). */
  readonly notFound: number;
  readonly writes: number;
  readonly deletes: number;
  /** Operations that failed, by the bucket that failed them (invalid keys are not counted). */
  readonly errors: Record<StoreSide, number>;
  /**
   * Copy-on-miss: copies written, found already there (412), undone (the photo was deleted or rewritten meanwhile),
   * failed, skipped.
   */
  readonly copies: {
    readonly written: number;
    readonly existed: number;
    readonly undone: number;
    readonly failed: number;
    readonly skipped: number;
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

export class StoreCounters {
  private c: Mutable<StoreCounts> = StoreCounters.zero();

  private static zero(): Mutable<StoreCounts> {
    return {
      reads: { new: 0, legacy: 0 },
      fallbackHits: 0,
      fallbackMisses: 0,
      notFound: 0,
      writes: 0,
      deletes: 0,
      errors: { new: 0, legacy: 0 },
      copies: { written: 0, existed: 0, undone: 0, failed: 0, skipped: 0 },
    };
  }

  read(side: StoreSide): void {
    this.c.reads[side]++;
  }

  fallbackHit(): void {
    this.c.fallbackHits++;
  }

  fallbackMiss(): void {
    this.c.fallbackMisses++;
  }

  notFound(): void {
    this.c.notFound++;
  }

  write(): void {
    this.c.writes++;
  }

  delete(): void {
    this.c.deletes++;
  }

  error(side: StoreSide): void {
    this.c.errors[side]++;
  }

  copy(outcome: keyof StoreCounts['copies']): void {
    this.c.copies[outcome]++;
  }

  /** A copy of the counts (safe to serialize). */
  snapshot(): StoreCounts {
    return structuredClone(this.c);
  }
}

/** What happened between two snapshots (`after` minus `before`, field by field): the counts a heartbeat reports. */
export function countsSince(before: StoreCounts, after: StoreCounts): StoreCounts {
  const minus = (a: unknown, b: unknown): unknown =>
    typeof a === 'number'
      ? a - (b as number)
      : Object.fromEntries(
          Object.entries(a as object).map(([k, v]) => [k, minus(v, (b as Record<string, unknown>)[k])]),
        );
  return minus(after, before) as StoreCounts;
}
