/**
 * Time windows and durations as operators type them: `--since 7d` (a duration back from now) or an ISO 8601 time,
 * `--max-age 24h`. Units: s, m, h, d, w.
 */
import { UsageError } from '../../../workspaces/errors';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses "90s", "30m", "12h", "7d", "2w" (also "1.5h") into milliseconds; `what` names the flag in the error. */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (!m) throw new UsageError(`${what} must be a duration such as 30m, 12h, 7d or 2w (got "${text}")`);
  const ms = Number(m[1]) * UNIT_MS[m[2].toLowerCase()];
  if (!(ms > 0)) throw new UsageError(`${what} must be longer than zero (got "${text}")`);
  return ms;
}

/** An ISO 8601 time with a zone ("2025-06-01T09:00:00Z"), or a duration meaning that long before `now`. */
export function parseTimeOrAgo(text: string, what: string, now: Date): Date {
  if (/^\s*\d+(?:\.\d+)?\s*[smhdw]\s*$/i.test(text)) return new Date(now.getTime() - parseDuration(text, what));
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text.trim())) {
    throw new UsageError(
      `${what} must be an ISO 8601 time with a zone (2025-06-01T09:00:00Z) or a duration back from now such as 7d (got "${text}")`,
    );
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`${what}: "${text}" is not a valid time`);
  return new Date(t);
}

export interface TimeWindow {
  readonly start: Date;
  readonly end: Date;
}

export function windowSeconds(w: { start: string | Date; end: string | Date }): number {
  return Math.round((new Date(w.end).getTime() - new Date(w.start).getTime()) / 1000);
}

/** "7d 0h", "5h 30m", "45s": a duration for people (it lives with the verdict, which the stacks read too). */
export { formatDurationMs } from '../../../workspaces/audit-verdict';
