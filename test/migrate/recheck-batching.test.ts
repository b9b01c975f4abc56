/**
 * How the delete recheck gathers copies into listings (recheck-deletes.ts RECHECK_BATCHING): one listing for a batch
 * that reaches the batch size, one listing after the delay for a smaller one, and drain() judging at once. The legacy
 * bucket is a fake that answers ListObjectsV2 from a sorted key set, as S3 does (StartAfter, MaxKeys, truncation).
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { byteOrder, DeleteRecheck, RECHECK_BATCHING } from '../../migrator/src/migrate/recheck-deletes';
import type { Target } from '../../migrator/src/objects/write-new';

function fakeLegacy(keys: string[]) {
  const sorted = [...keys].sort(byteOrder);
  const listings: Array<{ startAfter?: string; maxKeys: number; returned: number }> = [];
  const client = {
    send: async (cmd: unknown) => {
      if (!(cmd instanceof ListObjectsV2Command)) throw new Error('only ListObjectsV2 is expected');
      const { StartAfter, MaxKeys = 1000 } = cmd.input;
      const from = StartAfter === undefined ? sorted : sorted.filter((k) => byteOrder(k, StartAfter) > 0);
      const page = from.slice(0, MaxKeys);
      listings.push({ startAfter: StartAfter, maxKeys: MaxKeys, returned: page.length });
      return { Contents: page.map((Key) => ({ Key })), IsTruncated: from.length > page.length };
    },
  } as unknown as S3Client;
  return { client, listings };
}

function recheckOf(keys: string[]) {
  const legacy = fakeLegacy(keys);
  const rechecked: string[] = [];
  const checkpoint = {
    markRechecked: (key: string) => rechecked.push(key),
    record: () => {
      throw new Error('no copy is undone here');
    },
  } as unknown as Checkpoint;
  const recheck = new DeleteRecheck({
    source: { client: legacy.client, bucket: 'legacy' },
    target: {} as Target,
    checkpoint,
    prefix: 'p/',
  });
  return { recheck, rechecked, listings: legacy.listings };
}

const keysOf = (n: number) => Array.from({ length: n }, (_, i) => `p/${String(i).padStart(5, '0')}.jpg`);
const written = (key: string) => ({ key, sourceEtag: 'e' });

describe('delete recheck batching', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('gathers copies for up to the delay, then judges them with one listing', async () => {
    const keys = keysOf(300);
    const { recheck, rechecked, listings } = recheckOf(keys);
    for (const k of keys) recheck.add(written(k));
    await jest.advanceTimersByTimeAsync(RECHECK_BATCHING.maxDelayMs - 1);
    expect(listings).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    await recheck.drain();
    expect(listings).toEqual([{ startAfter: 'p/00000.jp', maxKeys: 300 + 32, returned: 300 }]);
    expect(rechecked).toEqual(keys);
  });

  it('lists at once when a batch is full, and drain() judges the rest without waiting', async () => {
    const keys = keysOf(RECHECK_BATCHING.batch + 10);
    const { recheck, rechecked, listings } = recheckOf(keys);
    for (const k of keys.slice(0, RECHECK_BATCHING.batch)) recheck.add(written(k));
    await jest.advanceTimersByTimeAsync(0);
    expect(listings).toEqual([{ startAfter: 'p/00000.jp', maxKeys: RECHECK_BATCHING.batch + 32, returned: 510 }]);
    for (const k of keys.slice(RECHECK_BATCHING.batch)) recheck.add(written(k));
    await recheck.drain();
    expect(listings).toHaveLength(2);
    expect(listings[1]).toEqual({
      startAfter: keys[RECHECK_BATCHING.batch].slice(0, -1),
      maxKeys: 10 + 32,
      returned: 10,
    });
    expect(rechecked).toEqual(keys);
  });
});
