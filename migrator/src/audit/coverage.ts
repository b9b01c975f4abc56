/**
 * Measures how much of the audit's window the store's heartbeats cover (the rule that judges it: workspaces/
 * audit-verdict.ts). Each beat covers the period it reports, [time - periodMs, time]; a beat counts when its time falls
 * in the window, and the part of its period before the window's start is cut off. From a log file every beat is a
 * period of its own; from CloudWatch Logs Insights the beats come per instance and time bin, each bin the span from its
 * first beat's start to its last beat's time (fallback-cloudwatch.ts), so a gap shorter than a bin may not show.
 *
 * Memory: the covered time is kept as sorted disjoint intervals, merged as beats arrive (consecutive beats touch), so
 * it grows with the gaps, not the beats; instances are counted up to MAX_INSTANCES.
 */
import type { Coverage } from '../../../workspaces/audit-verdict';
import type { TimeWindow } from './window';

/** The coverage as measured; the verdict adds the limit it applied (maxGapSeconds). */
export type MeasuredCoverage = Omit<Coverage, 'maxGapSeconds'>;

/** One beat, or (CloudWatch) the beats of one instance in one time bin. */
export interface BeatSpan {
  readonly instance: string;
  readonly mode: string;
  /** The start of the first beat's period (epoch ms). */
  readonly startMs: number;
  /** The last beat's time (epoch ms). */
  readonly endMs: number;
  readonly beats: number;
  /** The fallback hits the beats counted. */
  readonly fallbackHits: number;
}

export const MAX_INSTANCES = 100_000;

export class CoverageMeter {
  /** Covered time: sorted, disjoint [start, end] pairs (epoch ms). */
  private readonly spans: [number, number][] = [];
  private readonly instances = new Set<string>();
  private readonly byMode: Record<string, number> = {};
  private beats = 0;
  private hits = 0;
  private readonly start: number;
  private readonly end: number;

  constructor(window: TimeWindow) {
    this.start = window.start.getTime();
    this.end = window.end.getTime();
  }

  add(s: BeatSpan): void {
    if (!(s.endMs >= this.start && s.endMs < this.end) || !(s.startMs <= s.endMs) || s.beats <= 0) return;
    this.beats += s.beats;
    if (this.instances.size < MAX_INSTANCES) this.instances.add(s.instance);
    this.byMode[s.mode] = (this.byMode[s.mode] ?? 0) + s.beats;
    // A store in legacy-only mode reads legacy for everything: its beats show no absence of legacy reads.
    if (s.mode === 'legacy-only') return;
    // Hits counted over a period that began before the window may have happened before it: not the window's.
    if (s.startMs >= this.start) this.hits += s.fallbackHits;
    this.cover(Math.max(s.startMs, this.start), s.endMs);
  }

  private cover(a: number, b: number): void {
    const spans = this.spans;
    const last = spans[spans.length - 1];
    if (!last || a > last[1]) {
      spans.push([a, b]);
      return;
    }
    if (a >= last[0]) {
      last[1] = Math.max(last[1], b); // the usual case: the next beat of a log read in time order
      return;
    }
    // Out of order (another process's beats, bins by instance): merge with every span it touches.
    let lo = 0;
    let hi = spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (spans[mid][1] < a) lo = mid + 1;
      else hi = mid;
    }
    let from = a;
    let to = b;
    let j = lo;
    while (j < spans.length && spans[j][0] <= to) {
      from = Math.min(from, spans[j][0]);
      to = Math.max(to, spans[j][1]);
      j++;
    }
    spans.splice(lo, j - lo, [from, to]);
  }

  result(resolutionSeconds?: number): MeasuredCoverage {
    const iso = (ms: number) => new Date(ms).toISOString();
    let covered = 0;
    let gap = { ms: -1, start: this.start, end: this.end };
    let edge = this.start;
    for (const [a, b] of this.spans) {
      covered += b - a;
      if (a - edge > gap.ms) gap = { ms: a - edge, start: edge, end: a };
      edge = b;
    }
    if (this.end - edge > gap.ms) gap = { ms: this.end - edge, start: edge, end: this.end };
    const first = this.spans[0];
    const last = this.spans[this.spans.length - 1];
    return {
      heartbeats: this.beats,
      processes: this.instances.size,
      byMode: { ...this.byMode },
      coveredSeconds: covered / 1000,
      ...(first ? { firstCoveredAt: iso(first[0]), lastCoveredAt: iso(last[1]) } : {}),
      largestGap: { seconds: gap.ms / 1000, start: iso(gap.start), end: iso(gap.end) },
      fallbackHits: this.hits,
      ...(resolutionSeconds ? { resolutionSeconds } : {}),
    };
  }
}
