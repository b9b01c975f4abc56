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
  test('a throttle halves the objects in flight and starts or doubles the pause', () => {
    let s = initialPace(OPTS);
    s = nextPace(s, 'throttle', OPTS);
    expect(s).toEqual({ limit: 8, pauseMs: 50, streak: 0 });
    s = nextPace(s, 'throttle', OPTS);
    expect(s).toEqual({ limit: 4, pauseMs: 100, streak: 0 });
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
  test('after a throttle, new objects wait for the lower limit and take the pause', async () => {
    const sleeps: number[] = [];
    let now = 1000;
    const p = new Pacer({ ...OPTS, maxConcurrency: 4 }, async (ms) => void sleeps.push(ms), () => now);
    const held = [await p.admit(), await p.admit(), await p.admit()];
    p.onThrottle(); // limit 2, pause 50
    let admitted = false;
    const next = p.admit().then((r) => ((admitted = true), r));
    held[0]();
    await new Promise((r) => setImmediate(r));
    expect(admitted).toBe(false); // 2 still in flight, limit 2
    held[1]();
    const releaseNext = await next;
    expect(admitted).toBe(true);
    expect(p.throttles).toBe(1);
    releaseNext();
    now += 10;
    await p.admit();
    expect(sleeps.length).toBeGreaterThan(0);
    expect(sleeps.every((ms) => ms > 0 && ms <= 50)).toBe(true);
  });
});
