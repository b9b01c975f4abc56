/**
 * The store's heartbeat: every interval (PHOTO_STORE_HEARTBEAT_MS, default 60 s) one JSON line on the store's logger,
 * beside the fallback-hit lines, with the store's mode, its instance (the process id and a random part), the interval
 * and the counters since the previous beat; a last beat when the store closes (fallback-events.ts has the format).
 *
 * It is the audit's evidence that the log covers its window: a log with zero fallback hits and no heartbeats proves
 * nothing (the app may not have run, or logged elsewhere). The timer is unref'd: it never keeps a process alive.
 */
import { randomBytes } from 'crypto';
import type { Logger } from 'pino';
import { countsSince, type StoreCounters, type StoreCounts } from './counters';
import { heartbeatFields } from './fallback-events';

export interface HeartbeatOptions {
  readonly log: Logger;
  readonly counters: StoreCounters;
  readonly mode: string;
  readonly intervalMs: number;
  /** The clock (tests); default Date.now. */
  readonly now?: () => number;
}

export class StoreHeartbeat {
  /** Unique per store: a restarted process (same pid or not) is another instance. */
  readonly instance = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private timer?: NodeJS.Timeout;
  private last: StoreCounts;
  private lastAt: number;
  private beats = 0;
  private readonly now: () => number;

  constructor(private readonly o: HeartbeatOptions) {
    this.now = o.now ?? Date.now;
    this.last = o.counters.snapshot();
    this.lastAt = this.now();
  }

  /** Beats every interval from now on (the first period starts now). */
  start(): void {
    if (this.timer) return;
    this.last = this.o.counters.snapshot();
    this.lastAt = this.now();
    this.timer = setInterval(() => this.beat(false), this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes the last beat (the period since the previous one). Once only. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.beat(true);
  }

  private beat(final: boolean): void {
    // The clock is read before the line is written, so the line's own time (pino's) is never earlier than the end of
    // the period it reports, and the next period starts exactly where this one ended: consecutive beats leave no gap.
    const at = this.now();
    const counts = this.o.counters.snapshot();
    this.beats++;
    this.o.log.info(
      heartbeatFields({
        instance: this.instance,
        mode: this.o.mode,
        intervalMs: this.o.intervalMs,
        periodMs: at - this.lastAt,
        beat: this.beats,
        final,
        counts: countsSince(this.last, counts),
      }),
      'store heartbeat',
    );
    this.last = counts;
    this.lastAt = at;
  }
}
