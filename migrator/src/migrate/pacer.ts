/**
 * Backoff and pacing, in the manner of rclone's pacer: the arithmetic is pure functions of the state, and a small
 * class holds the state for a run.
 *
 * - `backoffDelay` spaces one object's retries (full jitter, capped).
 * - The run-wide pace slows every worker down while S3 pushes back (503 SlowDown, throttling): each throttle (at most
 *   one per cooldown) takes a quarter of the objects allowed in flight away, and at one object in flight a pause
 *   before each new object starts and doubles; successes win them back (additive increase). The SDK's own retry
 *   strategy (adaptive: it also rate-limits the client) works inside each request beneath this.
 */

export interface BackoffOptions {
  /** The first retry's delay ceiling, ms. */
  readonly baseMs: number;
  /** The largest delay, ms. */
  readonly capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, capMs: 20_000 };

/** Full-jitter exponential backoff: a delay in [0, min(cap, base * 2^(attempt-1))). `random` is in [0, 1). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: number = Math.random(),
): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(ceiling * Math.min(Math.max(random, 0), 0.999999));
}

/** Waits `ms`, or less when the signal aborts meanwhile (it resolves either way: the caller checks the signal). */
export const sleepUnlessAborted = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export interface PaceState {
  /** Objects allowed in flight now (1..max). */
  readonly limit: number;
  /** The pause before starting each new object, ms. */
  readonly pauseMs: number;
  /** Successes since the last change. */
  readonly streak: number;
}

export interface PaceOptions {
  readonly maxConcurrency: number;
  /** Throttles closer together than this count as one (a burst of 503s answers one burst of requests). */
  readonly cooldownMs?: number;
  /** Successes needed to allow one more object in flight and to halve the pause. */
  readonly recoverAfter: number;
  readonly minPauseMs: number;
  readonly maxPauseMs: number;
}

export function initialPace(opts: PaceOptions): PaceState {
  return { limit: opts.maxConcurrency, pauseMs: 0, streak: 0 };
}

/**
 * The next pace after a throttle or a success. A throttle takes a quarter of the slots away (at least one is kept)
 * and, once the run is down to one object in flight, starts or doubles a pause between object starts; every
 * `recoverAfter` successes give a slot back and halve the pause.
 */
export function nextPace(state: PaceState, event: 'throttle' | 'success', opts: PaceOptions): PaceState {
  if (event === 'throttle') {
    const limit = Math.max(1, Math.floor(state.limit * 0.75));
    const pauseMs =
      state.limit === 1 ? Math.min(opts.maxPauseMs, Math.max(opts.minPauseMs, state.pauseMs * 2)) : state.pauseMs;
    return { limit, pauseMs, streak: 0 };
  }
  const streak = state.streak + 1;
  if (streak < opts.recoverAfter) return { ...state, streak };
  const pauseMs = state.pauseMs / 2 < opts.minPauseMs ? 0 : state.pauseMs / 2;
  return { limit: Math.min(opts.maxConcurrency, state.limit + 1), pauseMs, streak: 0 };
}

/** A run's pace: workers `admit()` before each object and report throttles and successes. */
export class Pacer {
  private state: PaceState;
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private nextStart = 0;
  private lastSlowdown = -Infinity;
  throttles = 0;

  constructor(
    private readonly opts: PaceOptions,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    private readonly now: () => number = Date.now,
  ) {
    this.state = initialPace(opts);
  }

  get pace(): PaceState {
    return this.state;
  }

  /** Waits until one more object may start; returns a function to call when it is done. */
  async admit(): Promise<() => void> {
    while (this.inFlight >= this.state.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight++;
    if (this.state.pauseMs > 0) {
      const start = Math.max(this.now(), this.nextStart);
      this.nextStart = start + this.state.pauseMs;
      const wait = start - this.now();
      if (wait > 0) await this.sleep(wait);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.wake();
    };
  }

  /** S3 pushed back (503 SlowDown, 429): slow the run down, once per cooldown. */
  onThrottle(): void {
    this.throttles++;
    const now = this.now();
    if (now - this.lastSlowdown < (this.opts.cooldownMs ?? 1000)) return;
    this.lastSlowdown = now;
    this.state = nextPace(this.state, 'throttle', this.opts);
  }

  onSuccess(): void {
    const before = this.state.limit;
    this.state = nextPace(this.state, 'success', this.opts);
    if (this.state.limit > before) this.wake();
  }

  /** Wakes as many waiters as there are free slots; each re-checks the limit before it takes one. */
  private wake(): void {
    for (let free = this.state.limit - this.inFlight; free > 0 && this.waiters.length; free--) this.waiters.shift()!();
  }
}
