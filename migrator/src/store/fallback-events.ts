/**
 * The fallback-hit event: the one JSON log line the store writes each time a read is served from the legacy bucket
 * because the new bucket said 404. The event name is stable; the audit (issue 6) counts these lines, from CloudWatch
 * Logs with FALLBACK_HITS_QUERY or from a local JSON-lines file with countFallbackHitsInFile.
 *
 * A line (pino; other fields such as level, name and msg may come along and are ignored here):
 *   {"level":"info","time":"2026-11-26T10:00:00.000Z","name":"photo-store","event":"store.fallback_hit",
 *    "key":"chats/10001/photos/1f0e....jpg","op":"get","mode":"dual-read","msg":"served from the legacy bucket"}
 *
 * Object keys are identifiers, not secrets, so they are logged; nothing else about the object is.
 */
import * as fs from 'fs';
import * as readline from 'readline';

export const FALLBACK_HIT_EVENT = 'store.fallback_hit';

/**
 * CloudWatch Logs Insights discovers the fields of JSON log lines, so this counts the hits in the chosen time range of
 * the app's log group; `bin(1h)` would give them per hour, `by key` per photo.
 */
export const FALLBACK_HITS_QUERY = `filter event = "${FALLBACK_HIT_EVENT}"
| stats count(*) as fallbackHits, count_distinct(key) as keys`;

export type FallbackOp = 'get' | 'head';

/** The fields the store logs with a fallback hit. */
export function fallbackHitFields(key: string, op: FallbackOp, mode: string): Record<string, string> {
  return { event: FALLBACK_HIT_EVENT, key, op, mode };
}

export interface FallbackHit {
  readonly key: string;
  readonly op?: string;
  /** From the line's `time` (ISO 8601, or epoch milliseconds); undefined when the line has none that parses. */
  readonly time?: Date;
}

/** One log line -> the hit it records, or undefined for any other line (other events, non-JSON, blank). */
export function parseFallbackHit(line: string): FallbackHit | undefined {
  const text = line.trim();
  if (!text.startsWith('{') || !text.includes(FALLBACK_HIT_EVENT)) return undefined;
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = rec as { event?: unknown; key?: unknown; op?: unknown; time?: unknown };
  if (r === null || typeof r !== 'object' || r.event !== FALLBACK_HIT_EVENT || typeof r.key !== 'string') return undefined;
  const time = typeof r.time === 'string' || typeof r.time === 'number' ? new Date(r.time) : undefined;
  return { key: r.key, ...(typeof r.op === 'string' ? { op: r.op } : {}), ...(time && !Number.isNaN(time.getTime()) ? { time } : {}) };
}

export interface TimeWindow {
  /** Inclusive. */
  readonly since?: Date;
  /** Exclusive. */
  readonly until?: Date;
}

export interface FallbackHitCount {
  /** Hits in the window. A hit without a usable time is counted (it cannot be ruled out) and also in `untimed`. */
  readonly hits: number;
  readonly untimed: number;
  /** Distinct keys among the hits (exact up to MAX_DISTINCT_KEYS, then `distinctKeysCapped`). */
  readonly distinctKeys: number;
  readonly distinctKeysCapped: boolean;
  /** The first few keys hit, in order of appearance, for a report. */
  readonly sampleKeys: string[];
  readonly first?: Date;
  readonly last?: Date;
  /** Lines read in all (hits, other events and anything else). */
  readonly lines: number;
}

export const MAX_DISTINCT_KEYS = 100_000;
const SAMPLE = 20;

/** Counts hits in a stream of lines; memory is bounded (distinct keys up to MAX_DISTINCT_KEYS). */
export class FallbackHitCounter {
  private hits = 0;
  private untimed = 0;
  private lines = 0;
  private readonly keys = new Set<string>();
  private capped = false;
  private readonly sample: string[] = [];
  private first?: Date;
  private last?: Date;

  constructor(private readonly window: TimeWindow = {}) {}

  add(line: string): void {
    this.lines++;
    const hit = parseFallbackHit(line);
    if (!hit) return;
    if (hit.time) {
      if (this.window.since && hit.time < this.window.since) return;
      if (this.window.until && hit.time >= this.window.until) return;
      if (!this.first || hit.time < this.first) this.first = hit.time;
      if (!this.last || hit.time > this.last) this.last = hit.time;
    } else {
      this.untimed++;
    }
    this.hits++;
    if (!this.keys.has(hit.key)) {
      if (this.keys.size < MAX_DISTINCT_KEYS) this.keys.add(hit.key);
      else this.capped = true;
      if (this.sample.length < SAMPLE) this.sample.push(hit.key);
    }
  }

  result(): FallbackHitCount {
    return {
      hits: this.hits,
      untimed: this.untimed,
      distinctKeys: this.keys.size,
      distinctKeysCapped: this.capped,
      sampleKeys: [...this.sample],
      ...(this.first ? { first: this.first } : {}),
      ...(this.last ? { last: this.last } : {}),
      lines: this.lines,
    };
  }
}

export function countFallbackHits(lines: Iterable<string>, window: TimeWindow = {}): FallbackHitCount {
  const counter = new FallbackHitCounter(window);
  for (const line of lines) counter.add(line);
  return counter.result();
}

/** Counts the hits in a JSON-lines log file (the service's stdout redirected), reading it as a stream. */
export async function countFallbackHitsInFile(file: string, window: TimeWindow = {}): Promise<FallbackHitCount> {
  const counter = new FallbackHitCounter(window);
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) counter.add(line);
  } finally {
    lines.close();
    input.destroy();
  }
  return counter.result();
}
