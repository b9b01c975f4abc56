import { backoffDelay, initialPace, nextPace, Pacer, type PaceOptions } from '../../migrator/src/migrate/pacer';

const OPTS: PaceOptions = { maxConcurrency: 16, recoverAfter: 4, minPauseMs: 50, maxPauseMs: 5000 };

describe('backoffDelay (full jitter, capped)', () => {
  test('grows as 2^(attempt-1) times the base, times the jitter', () => {
    const o = { baseMs: 100, capMs: 10_000 };
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, o, 0.5))).toEqual([50, 100, 200, 400]);
    expect(backoffDelay(1, o, 0)).toBe(0);
    expect(backoffDelay(3, o, 0.999999999)).toBeLessThan(400);
  });
  test('never passes the cap, even for huge attempt numbers', () => {
    const o = { baseMs: 100, capMs: 1000 };
    expect(backoffDelay(50, o, 0.99)).toBe(990);
    expect(backoffDelay(10_000, o, 0.5)).toBe(500);
  });
});

describe('nextPace (AIMD)', () => {
  test('a throttle takes a quarter of the slots; at one slot the pause starts and doubles up to its cap', () => {
    let s = initialPace(OPTS);
    s = nextPace(s, 'throttle', OPTS);
    expect(s).toEqual({ limit: 12, pauseMs: 0, streak: 0 });
    s = nextPace(s, 'throttle', OPTS);
    expect(s).toEqual({ limit: 9, pauseMs: 0, streak: 0 });
    while (s.limit > 1) s = nextPace(s, 'throttle', OPTS);
    expect(s).toEqual({ limit: 1, pauseMs: 0, streak: 0 });
    s = nextPace(s, 'throttle', OPTS);
    expect(s).toEqual({ limit: 1, pauseMs: 50, streak: 0 });
    s = nextPace(s, 'throttle', OPTS);
    expect(s).toEqual({ limit: 1, pauseMs: 100, streak: 0 });
    for (let i = 0; i < 20; i++) s = nextPace(s, 'throttle', OPTS);
    expect(s).toEqual({ limit: 1, pauseMs: 5000, streak: 0 });
  });
  test('successes win back one slot and half the pause per `recoverAfter` successes', () => {
    let s = { limit: 4, pauseMs: 200, streak: 0 };
    for (let i = 0; i < 3; i++) s = nextPace(s, 'success', OPTS);
    expect(s).toEqual({ limit: 4, pauseMs: 200, streak: 3 });
    s = nextPace(s, 'success', OPTS);
    expect(s).toEqual({ limit: 5, pauseMs: 100, streak: 0 });
    for (let i = 0; i < 4 * 40; i++) s = nextPace(s, 'success', OPTS);
    expect(s).toEqual({ limit: 16, pauseMs: 0, streak: 0 });
  });
});

describe('Pacer', () => {
  test('admits up to the limit and queues the rest until a release', async () => {
    const p = new Pacer({ ...OPTS, maxConcurrency: 2 }, async () => undefined);
    const r1 = await p.admit();
    await p.admit();
    let third = false;
    const t = p.admit().then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false);
    r1();
    await t;
    expect(third).toBe(true);
  });
  test('after throttles, new objects wait for the lower limit; at one slot they take the pause', async () => {
    const sleeps: number[] = [];
    let now = 1000;
    const p = new Pacer(
      { ...OPTS, maxConcurrency: 2, cooldownMs: 0 },
      async (ms) => void sleeps.push(ms),
      () => now,
    );
    const held = [await p.admit(), await p.admit()];
    p.onThrottle(); // limit 1
    let admitted = false;
    const next = p.admit().then((r) => ((admitted = true), r));
    held[0]();
    await new Promise((r) => setImmediate(r));
    expect(admitted).toBe(false); // 1 still in flight, limit 1
    held[1]();
    const releaseNext = await next;
    expect(admitted).toBe(true);
    p.onThrottle(); // at one slot: pause 50
    releaseNext();
    now += 10;
    (await p.admit())(); // the first start after the pause began goes at once
    await p.admit(); // the next waits out the pause
    expect(p.throttles).toBe(2);
    expect(sleeps).toEqual([50]);
  });

  test('throttles within the cooldown count once', () => {
    let now = 0;
    const p = new Pacer(
      { ...OPTS, cooldownMs: 1000 },
      async () => undefined,
      () => now,
    );
    p.onThrottle();
    now = 500;
    p.onThrottle();
    expect([p.throttles, p.pace.limit]).toEqual([2, 12]);
    now = 1600;
    p.onThrottle();
    expect(p.pace.limit).toBe(9);
  });
});
