/**
 * The migration run's dispatcher on its own (migrate/dispatcher.ts), over a real checkpoint and a fake copy: its
 * passes over the checkpoint, the memory reservations, retries with backoff and the pacer's pace, stop and abort, and
 * the bound on objects in flight. No S3 and no timers of consequence: sleeps and the pacer's clock are injected.
 */
import * as path from 'path';
import { COLLECTOR_SLACK_BYTES, type CopyWindow } from '../../workspaces/codec-memory';
import { KIB, MIB } from '../../workspaces/units';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { PermanentCopyError } from '../../migrator/src/migrate/classify';
import type { SizeHooks } from '../../migrator/src/migrate/copy-object';
import { Dispatcher, type CopyOne, type DispatcherDeps } from '../../migrator/src/migrate/dispatcher';
import { OverMemoryBudget } from '../../migrator/src/migrate/memory-budget';
import { Pacer, type PaceOptions } from '../../migrator/src/migrate/pacer';
import type { ObjectRow, Outcome } from '../../migrator/src/objects/records';
import { tmpDirPerFile } from '../helpers/tmp';

const tmp = tmpDirPerFile('bm-dispatch-');
const ID = { env: 'local', legacyBucket: 'old', newBucket: 'new', prefix: '' };
const WINDOW: CopyWindow = { partSize: 1 * MIB, queueSize: 2 };
/** A codec that holds nothing of its own: every reservation is the copy path's (workspaces/codec-memory.ts). */
const CODEC = { name: 'test', memoryNeed: () => 0 };
const PACE: PaceOptions = { maxConcurrency: 4, recoverAfter: 4, minPauseMs: 50, maxPauseMs: 2_000, cooldownMs: 1_000 };
/** --memory leaving `bytes` of object data beside the collector's slack. */
const memoryFor = (bytes: number) => COLLECTOR_SLACK_BYTES + bytes;

const obj = (key: string, size = 10) => ({ key, size, etag: `"${key}"` });
const copied = (row: ObjectRow): Outcome => ({ state: 'copied', etag: row.etag, size: row.size, plaintextSize: 1 });
const tick = () => new Promise<void>((r) => setImmediate(r));

interface Harness {
  readonly checkpoint: Checkpoint;
  readonly dispatcher: Dispatcher;
  readonly stop: AbortController;
  readonly abort: AbortController;
  readonly finished: { key: string; state: string }[];
  readonly sleeps: number[];
  listingDone: boolean;
}

function harness(
  copy: CopyOne,
  o: {
    keys?: { key: string; size: number; etag: string }[];
    listed?: boolean;
    pacer?: Pacer;
    memoryBytes?: number;
    maxAttempts?: number;
    limit?: number;
    deps?: Partial<DispatcherDeps>;
  } = {},
): Harness {
  const checkpoint = Checkpoint.open(path.join(tmp(), 'cp.sqlite'), ID);
  checkpoint.addListedPage(o.keys ?? [], o.listed ?? true);
  const stop = new AbortController();
  const abort = new AbortController();
  const finished: { key: string; state: string }[] = [];
  const sleeps: number[] = [];
  const h = { checkpoint, stop, abort, finished, sleeps, listingDone: o.listed ?? true } as Harness;
  const dispatcher = new Dispatcher(
    {
      checkpoint,
      pacer: o.pacer ?? new Pacer(PACE),
      codec: CODEC,
      window: WINDOW,
      copy,
      stopSignal: stop.signal,
      abortSignal: abort.signal,
      listingDone: () => h.listingDone,
      sleep: async (ms) => void sleeps.push(ms),
      events: { finished: (row, outcome) => finished.push({ key: row.key, state: outcome.state }) },
      ...o.deps,
    },
    {
      memoryBytes: o.memoryBytes ?? memoryFor(64 * MIB),
      maxAttempts: o.maxAttempts ?? 3,
      limit: o.limit,
      backoff: { baseMs: 100, capMs: 1_000 },
    },
  );
  Object.assign(h, { dispatcher });
  return h;
}

/** Counts the copies in flight and remembers the most at once. */
function gauge() {
  let now = 0;
  const g = {
    most: 0,
    get now() {
      return now;
    },
    async hold<T>(fn: () => Promise<T>): Promise<T> {
      now++;
      g.most = Math.max(g.most, now);
      try {
        return await fn();
      } finally {
        now--;
      }
    },
  };
  return g;
}

describe('passes over the checkpoint', () => {
  test('keys recorded behind the pass (a manifest out of key order) are taken by a later pass', async () => {
    const order: string[] = [];
    const h: Harness = harness(
      async (row) => {
        order.push(row.key);
        if (row.key === 'd') {
          // While the first pass is past them, the key source records keys before 'd' and ends.
          h.checkpoint.addListedPage([obj('a'), obj('c')], true);
          h.listingDone = true;
        }
        return copied(row);
      },
      { keys: [obj('b'), obj('d')], listed: false },
    );
    await h.dispatcher.run();
    expect(order.slice(0, 2)).toEqual(['b', 'd']);
    expect(order.slice(2).sort()).toEqual(['a', 'c']);
    expect(h.checkpoint.counts().copied.count).toBe(4);
    expect(h.dispatcher.tally.processed.copied).toBe(4);
  });

  test('a pass waits for the lister while the listing goes on, and ends after one that began with it complete', async () => {
    const h = harness(async (row) => copied(row), { keys: [], listed: false });
    const done = h.dispatcher.run();
    await tick();
    h.checkpoint.addListedPage([obj('x')], false);
    h.dispatcher.wake();
    await tick();
    h.checkpoint.addListedPage([obj('y')], true);
    h.listingDone = true;
    h.dispatcher.wake();
    await done;
    expect(h.finished.map((f) => f.key).sort()).toEqual(['x', 'y']);
  });

  describe('the idle wait (fake timers: a wait of 250 ms never ends by itself here)', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    /** Whether `p` settles within a few turns of the event loop (no timer fires meanwhile). */
    async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
      let settled = false;
      void p.then(() => (settled = true));
      for (let i = 0; i < 10 && !settled; i++) await tick();
      return settled;
    }

    test('a wake while a pass reads the checkpoint is not lost: the next pass starts at once, and the run ends', async () => {
      const h = harness(async (row) => copied(row), { keys: [], listed: false });
      const read = h.checkpoint.nextPending.bind(h.checkpoint);
      let reads = 0;
      h.checkpoint.nextPending = (after, n) => {
        const rows = read(after, n);
        // The lister records its last page and ends while the first pass reads: no one is waiting for this wake.
        if (++reads === 1) {
          h.listingDone = true;
          h.dispatcher.wake();
        }
        return rows;
      };
      expect(await settlesSoon(h.dispatcher.run())).toBe(true);
      expect(reads).toBe(2);
      expect(jest.getTimerCount()).toBe(0);
    });

    test('a wake ends the wait and clears its timer, which would otherwise hold the process after the run', async () => {
      const h = harness(async (row) => copied(row), { keys: [], listed: false });
      const done = h.dispatcher.run();
      await tick();
      expect(jest.getTimerCount()).toBe(1); // waiting for the lister
      h.checkpoint.addListedPage([obj('x')], true);
      h.listingDone = true;
      h.dispatcher.wake();
      expect(await settlesSoon(done)).toBe(true);
      expect(h.finished).toEqual([{ key: 'x', state: 'copied' }]);
      h.checkpoint.flush(); // its own timer: the copy's outcome waits up to 20 ms to share a transaction
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  test('an object failed after every attempt stays failed for this run; the next run takes it again', async () => {
    let calls = 0;
    const slow = Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' });
    const h: Harness = harness(
      async (row) => {
        calls++;
        if (row.key === 'a' && h.checkpoint.get('a')!.attempts <= 2) throw slow;
        return copied(row);
      },
      { keys: [obj('a'), obj('b')], maxAttempts: 2 },
    );
    await h.dispatcher.run();
    expect(h.checkpoint.get('a')?.state).toBe('failed');
    expect(h.checkpoint.get('a')?.errorCode).toBe('ETIMEDOUT');
    expect(h.checkpoint.get('b')?.state).toBe('copied');
    expect(calls).toBe(3); // a twice, b once: the later passes do not take the failed key again

    h.checkpoint.requeue({ quarantined: false }); // what the next run does first (run.ts)
    const next = new Dispatcher(
      {
        checkpoint: h.checkpoint,
        pacer: new Pacer(PACE),
        codec: CODEC,
        window: WINDOW,
        copy: async (row) => copied(row),
        stopSignal: new AbortController().signal,
        abortSignal: new AbortController().signal,
        listingDone: () => true,
      },
      { memoryBytes: memoryFor(64 * MIB), maxAttempts: 2 },
    );
    await next.run();
    expect(h.checkpoint.get('a')?.state).toBe('copied');
    expect(next.tally.processed).toMatchObject({ copied: 1, failed: 0 });
  });

  test('the limit counts objects started', async () => {
    const h = harness(async (row) => copied(row), { keys: ['a', 'b', 'c', 'd'].map((k) => obj(k)), limit: 2 });
    await h.dispatcher.run();
    expect(h.finished.map((f) => f.key)).toEqual(['a', 'b']);
    expect(h.checkpoint.get('c')?.state).toBe('pending');
  });
});

describe('memory reservations', () => {
  // Object data: 3 MiB. A 1 MiB object (small: held whole, 2 MiB + 64 KiB) fits once at a time; a large one needs its
  // window, (queueSize + 2) parts = 4 MiB: more than the whole budget.
  const MEMORY = memoryFor(3 * MIB);

  test('an object waits while the budget is spent: never more reserved than the budget', async () => {
    const g = gauge();
    let most = 0;
    const h: Harness = harness(
      (row) =>
        g.hold(async () => {
          most = Math.max(most, h.dispatcher.budget.inUse);
          await tick();
          return copied(row);
        }),
      { keys: ['a', 'b', 'c'].map((k) => obj(k, 1 * MIB)), memoryBytes: MEMORY },
    );
    await h.dispatcher.run();
    expect(h.dispatcher.budget.capacity).toBe(3 * MIB);
    expect(g.most).toBe(1); // the pacer allows 4; memory allows 1
    expect(most).toBe(2 * MIB + 64 * KIB);
    expect(h.dispatcher.budget.inUse).toBe(0);
    expect(h.checkpoint.counts().copied.count).toBe(3);
  });

  test('small objects share the budget: as many in flight as fit', async () => {
    const g = gauge();
    const h = harness((row) => g.hold(async () => (await tick(), copied(row))), {
      keys: ['a', 'b', 'c', 'd'].map((k) => obj(k, 512 * KIB)), // 1 MiB + 64 KiB each: two fit in 3 MiB
      memoryBytes: MEMORY,
    });
    await h.dispatcher.run();
    expect(g.most).toBe(2);
  });

  test('an object over the whole budget is refused OverMemoryBudget, naming the --memory it needs; the run goes on', async () => {
    const copies: string[] = [];
    const h = harness(async (row) => (copies.push(row.key), copied(row)), {
      keys: [obj('big', 2 * MIB), obj('small', 10)],
      memoryBytes: MEMORY,
    });
    await h.dispatcher.run();
    expect(copies).toEqual(['small']); // the big one is never read
    const big = h.checkpoint.get('big')!;
    expect(big.state).toBe('failed');
    expect(big.errorCode).toBe('OverMemoryBudget');
    expect(big.errorMessage).toMatch(
      /needs 4 MiB of object data .*more than --memory 91 MiB; run again with --memory 92 or more/,
    );
    expect(h.dispatcher.tally.processed).toMatchObject({ failed: 1, copied: 1 });
  });

  test('an object of unknown size reserves the largest small one, then fits its reservation to the size read', async () => {
    const held: number[] = [];
    const h: Harness = harness(
      async (row, _signal, hooks?: SizeHooks) => {
        held.push(h.dispatcher.budget.inUse);
        await hooks!.sized(100 * KIB);
        held.push(h.dispatcher.budget.inUse);
        return copied({ ...row, size: 100 * KIB });
      },
      { keys: [obj('manifest-key', -1)], memoryBytes: MEMORY },
    );
    await h.dispatcher.run();
    expect(held).toEqual([2 * MIB + 64 * KIB, 200 * KIB + 64 * KIB]);
    expect(h.finished).toEqual([{ key: 'manifest-key', state: 'copied' }]);
  });

  test('an object of unknown size that turns out over the whole budget is refused when its GET tells the size', async () => {
    const h = harness(
      async (_row, _signal, hooks?: SizeHooks) => {
        await hooks!.sized(10 * MIB);
        throw new Error('not reached');
      },
      { keys: [obj('huge', -1)], memoryBytes: MEMORY },
    );
    await h.dispatcher.run();
    expect(h.checkpoint.get('huge')).toMatchObject({ state: 'failed', errorCode: new OverMemoryBudget('').name });
    expect(h.dispatcher.budget.inUse).toBe(0);
  });
});

describe('retries', () => {
  test('a temporary failure is retried with backoff (the injected sleep), each delay within its ceiling', async () => {
    let calls = 0;
    const retried: { attempt: number; code: string; delay: number }[] = [];
    const h = harness(
      async (row) => {
        if (++calls <= 2) throw Object.assign(new Error('slow down'), { $metadata: { httpStatusCode: 503 } });
        return copied(row);
      },
      {
        keys: [obj('a')],
        deps: {
          events: { retrying: (_row, attempt, why, delay) => retried.push({ attempt, code: why.code, delay }) },
        },
      },
    );
    await h.dispatcher.run();
    expect(h.checkpoint.get('a')).toMatchObject({ state: 'copied', attempts: 3 });
    expect(retried.map((r) => [r.attempt, r.code])).toEqual([
      [1, 'SlowDown'],
      [2, 'SlowDown'],
    ]);
    expect(h.sleeps).toEqual(retried.map((r) => r.delay));
    expect(h.sleeps[0]).toBeLessThan(100); // full jitter under base * 2^(attempt - 1)
    expect(h.sleeps[1]).toBeLessThan(200);
    expect(h.dispatcher.tally.retries).toBe(2);
  });

  test('a permanent failure is quarantined at once, without a retry', async () => {
    const h = harness(
      async () => {
        throw new PermanentCopyError('BadDigest', 'the bytes do not match');
      },
      { keys: [obj('a')] },
    );
    await h.dispatcher.run();
    expect(h.checkpoint.get('a')).toMatchObject({ state: 'quarantined', errorCode: 'BadDigest', attempts: 1 });
    expect(h.sleeps).toEqual([]);
  });

  test("the pacer's pace holds: after throttles, one object at a time with a pause (the pacer's clock and sleep injected)", async () => {
    let clock = 0;
    const pauses: number[] = [];
    const pacer = new Pacer(
      PACE,
      async (ms) => void pauses.push(ms),
      () => clock,
    );
    for (let i = 0; i < 6; i++) {
      pacer.onThrottle();
      clock += PACE.cooldownMs!;
    }
    expect(pacer.pace.limit).toBe(1);
    expect(pacer.pace.pauseMs).toBeGreaterThan(0);
    const g = gauge();
    const h = harness((row) => g.hold(async () => (await tick(), copied(row))), {
      keys: ['a', 'b', 'c'].map((k) => obj(k)),
      pacer,
    });
    await h.dispatcher.run();
    expect(g.most).toBe(1);
    // The clock stands still: each start after the first waits one more pause.
    expect(pauses).toEqual([1, 2].map((n) => n * pacer.pace.pauseMs));
    expect(h.checkpoint.counts().copied.count).toBe(3);
  });
});

describe('stop and abort', () => {
  test('abort mid-run: the copies in flight see the signal, their keys stay pending, nothing more starts', async () => {
    const started: string[] = [];
    const h: Harness = harness(
      (row, signal) =>
        new Promise<Outcome>((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          started.push(row.key);
          if (started.length === 2) {
            h.stop.abort();
            h.abort.abort();
          }
        }),
      { keys: ['a', 'b', 'c', 'd', 'e'].map((k) => obj(k)) },
    );
    await h.dispatcher.run();
    expect(started).toEqual(['a', 'b']);
    for (const k of ['a', 'b', 'c', 'd', 'e']) expect(h.checkpoint.get(k)?.state).toBe('pending');
    expect(h.finished).toEqual([]);
    expect(h.dispatcher.budget.inUse).toBe(0);
  });

  test('stop: nothing more starts, the copies in flight finish and are recorded', async () => {
    const started: string[] = [];
    const h: Harness = harness(
      async (row) => {
        started.push(row.key);
        if (started.length === 2) h.stop.abort();
        await tick();
        return copied(row);
      },
      { keys: ['a', 'b', 'c', 'd'].map((k) => obj(k)) },
    );
    await h.dispatcher.run();
    expect(started).toEqual(['a', 'b']);
    expect(h.finished.map((f) => f.key)).toEqual(['a', 'b']);
    expect(h.checkpoint.get('c')?.state).toBe('pending');
  });
});

describe('concurrency', () => {
  test('never more objects in flight than the pacer allows, however the copies interleave', async () => {
    const g = gauge();
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    const keys = Array.from({ length: 40 }, (_, i) => obj(`k${String(i).padStart(2, '0')}`));
    const h = harness(
      (row) =>
        g.hold(async () => {
          for (let n = Math.floor(random() * 4); n >= 0; n--) await tick();
          return copied(row);
        }),
      { keys, pacer: new Pacer({ ...PACE, maxConcurrency: 3 }) },
    );
    await h.dispatcher.run();
    expect(g.most).toBe(3);
    expect(g.now).toBe(0);
    expect(h.checkpoint.counts().copied.count).toBe(40);
    expect(h.dispatcher.tally).toMatchObject({ storedBytes: 400, plaintextBytes: 40, retries: 0 });
  });
});
