/**
 * The store's heartbeats for tests that feed logs to the audit: lines in the store's own format (heartbeatFields, as
 * heartbeat.ts writes them through pino), and the coverage figures of a log that covers its window.
 */
import type { Coverage } from '../../workspaces/audit-verdict';
import { heartbeatFields } from '../../migrator/src/store/fallback-events';

const ZERO = {
  reads: { new: 0, legacy: 0 },
  fallbackHits: 0,
  fallbackMisses: 0,
  notFound: 0,
  writes: 0,
  deletes: 0,
  errors: { new: 0, legacy: 0 },
  copies: { written: 0, existed: 0, undone: 0, failed: 0, skipped: 0 },
};

export interface BeatOptions {
  readonly instance?: string;
  readonly mode?: string;
  /** The first beat's time; it covers the interval before it. */
  readonly first: Date;
  /** No beat at or after this time. */
  readonly until: Date;
  readonly everyMs?: number;
  /** Fallback hits counted by the beat at this index. */
  readonly hitsAt?: Record<number, number>;
}

/** One process's heartbeat lines, every `everyMs` (default 60 s) from `first` to before `until`, newline-ended. */
export function heartbeatLines(o: BeatOptions): string {
  const every = o.everyMs ?? 60_000;
  const out: string[] = [];
  for (let t = o.first.getTime(), i = 0; t < o.until.getTime(); t += every, i++) {
    const fields = heartbeatFields({
      instance: o.instance ?? '4242-0badc0de',
      mode: o.mode ?? 'dual-read',
      intervalMs: every,
      periodMs: every,
      beat: i + 1,
      counts: { ...ZERO, fallbackHits: o.hitsAt?.[i] ?? 0 },
    });
    out.push(
      `${JSON.stringify({ level: 'info', time: new Date(t).toISOString(), name: 'photo-service', ...fields, msg: 'store heartbeat' })}\n`,
    );
  }
  return out.join('');
}

/**
 * The figures of a window covered by `processes` stores beating every minute, the last beats 1m 4s before its end
 * (7 days of 3 processes: "covered by 30,240 heartbeats from 3 processes, largest gap 1m 4s").
 */
export function fullCoverage(window: { start: string; end: string }, processes = 3): Coverage {
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  const heartbeats = processes * Math.floor((end - start) / 60_000);
  return {
    heartbeats,
    processes,
    byMode: { 'dual-read': heartbeats },
    coveredSeconds: (end - start) / 1000 - 64,
    firstCoveredAt: window.start,
    lastCoveredAt: new Date(end - 64_000).toISOString(),
    largestGap: { seconds: 64, start: new Date(end - 64_000).toISOString(), end: window.end },
    fallbackHits: 0,
    maxGapSeconds: 900,
  };
}

/**
 * The heartbeats of an app that has been running for `days` and keeps running: one store beating every 5 minutes from
 * `days` ago to 30 minutes ahead, so any audit window ending in the next half hour is covered (the audit counts only
 * the beats before its window's end).
 */
export function runningAppHeartbeats(days = 8, now = Date.now()): string {
  return heartbeatLines({
    instance: `${process.pid}-a99a0000`,
    first: new Date(now - days * 86_400_000),
    until: new Date(now + 30 * 60_000),
    everyMs: 5 * 60_000,
  });
}
