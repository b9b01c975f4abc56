/**
 * The rows of n shard checkpoints as one key-ordered stream: a k-way merge of their `rows()` streams (each already in
 * UTF-8 byte order), holding one row per shard in a binary heap. Memory is n rows, whatever the number of keys; each
 * row costs O(log n) comparisons.
 *
 * The shards' keys are disjoint (each key hashes to one shard). A key found in two checkpoints means the set is not
 * one sharded migration, and stops the audit rather than judging the key against one of the two rows.
 */
import { ConfigError } from '../../../workspaces/errors';
import type { ObjectRow } from '../objects/records';
import { compareKeys } from './key-order';

/** Bad input (the checkpoints given), found while merging: the CLI ends with one line and exit 2, writing nothing. */
export class ShardOverlapError extends ConfigError {}

export interface ShardRows {
  /** For messages: e.g. "shard 2/4 (.bucketmove/prod/checkpoint-shard-2-of-4.sqlite)". */
  readonly label: string;
  readonly rows: Iterable<ObjectRow>;
}

interface Entry {
  readonly row: ObjectRow;
  readonly source: number;
}

/** A min-heap of the shards' current rows, by key. */
class RowHeap {
  private readonly items: Entry[] = [];

  get size(): number {
    return this.items.length;
  }

  push(e: Entry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compareKeys(a[parent].row.key, a[i].row.key) <= 0) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }

  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < a.length && compareKeys(a[l].row.key, a[min].row.key) < 0) min = l;
        if (r < a.length && compareKeys(a[r].row.key, a[min].row.key) < 0) min = r;
        if (min === i) break;
        [a[min], a[i]] = [a[i], a[min]];
        i = min;
      }
    }
    return top;
  }
}

/** The rows of every shard in key order; throws a ShardOverlapError when two shards hold the same key. */
export function* mergeCheckpointRows(shards: readonly ShardRows[]): Generator<ObjectRow> {
  if (shards.length === 1) {
    yield* shards[0].rows;
    return;
  }
  const iterators = shards.map((s) => s.rows[Symbol.iterator]());
  const heap = new RowHeap();
  const advance = (source: number) => {
    const r = iterators[source].next();
    if (!r.done) heap.push({ row: r.value, source });
  };
  iterators.forEach((_, i) => advance(i));
  let previous: Entry | undefined;
  while (heap.size) {
    const e = heap.pop()!;
    if (previous && previous.row.key === e.row.key) {
      const [a, b] = [previous.source, e.source].sort((x, y) => x - y);
      throw new ShardOverlapError(
        `key ${JSON.stringify(e.row.key)} is in the checkpoints of ${shards[a].label} and ${shards[b].label}: they are not the shards of one migration`,
      );
    }
    yield e.row;
    previous = e;
    advance(e.source);
  }
}
