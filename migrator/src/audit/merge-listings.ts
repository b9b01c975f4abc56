/**
 * The sorted merge at the heart of the audit: the legacy listing, the new bucket's listing and the migrator's
 * checkpoint rows, three streams in the same (UTF-8 byte) key order, walked together. Each step yields one key with
 * what each source knows of it. Only the head of each stream is held, so memory does not grow with the number of keys.
 */
import type { ListedObject, ObjectRow } from '../objects/records';
import { compareKeys } from './key-order';

export interface MergedKey {
  readonly key: string;
  readonly legacy?: ListedObject;
  /** The object in the new bucket, from its listing. */
  readonly current?: ListedObject;
  /** The migrator's record of the key. */
  readonly checkpoint?: ObjectRow;
}

type Source<T> = AsyncIterator<T> | Iterator<T>;

class Head<T extends { key: string }> {
  value?: T;
  private done = false;
  constructor(private readonly it: Source<T>) {}

  async fill(): Promise<void> {
    if (this.value !== undefined || this.done) return;
    const r = await this.it.next();
    if (r.done) this.done = true;
    else this.value = r.value;
  }

  take(key: string): T | undefined {
    if (this.value === undefined || this.value.key !== key) return undefined;
    const v = this.value;
    this.value = undefined;
    return v;
  }
}

function iterator<T>(s: AsyncIterable<T> | Iterable<T>): Source<T> {
  return Symbol.asyncIterator in s
    ? (s as AsyncIterable<T>)[Symbol.asyncIterator]()
    : (s as Iterable<T>)[Symbol.iterator]();
}

export async function* mergeListings(sources: {
  legacy: AsyncIterable<ListedObject> | Iterable<ListedObject>;
  current: AsyncIterable<ListedObject> | Iterable<ListedObject>;
  checkpoint: AsyncIterable<ObjectRow> | Iterable<ObjectRow>;
}): AsyncGenerator<MergedKey> {
  const heads = {
    legacy: new Head(iterator(sources.legacy)),
    current: new Head(iterator(sources.current)),
    checkpoint: new Head(iterator(sources.checkpoint)),
  };
  for (;;) {
    await Promise.all([heads.legacy.fill(), heads.current.fill(), heads.checkpoint.fill()]);
    let next: string | undefined;
    for (const h of [heads.legacy, heads.current, heads.checkpoint]) {
      const k = h.value?.key;
      if (k !== undefined && (next === undefined || compareKeys(k, next) < 0)) next = k;
    }
    if (next === undefined) return;
    const merged: MergedKey = {
      key: next,
      legacy: heads.legacy.take(next),
      current: heads.current.take(next),
      checkpoint: heads.checkpoint.take(next),
    };
    yield merged;
  }
}
