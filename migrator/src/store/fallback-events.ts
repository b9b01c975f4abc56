/**
 * The store's two evidence events, one JSON log line each, with stable names; the audit counts them, from CloudWatch
 * Logs with Logs Insights or from a local JSON-lines file.
 *
 * The fallback hit: one line each time a read is served from the legacy bucket because the new bucket said 404
 * (pino; other fields such as level, name and msg may come along and are ignored here):
 *   {"level":"info","time":"2026-11-26T10:00:00.000Z","name":"photo-store","event":"store.fallback_hit",
 *    "key":"chats/10001/photos/1f0e....jpg","op":"get","mode":"dual-read","msg":"served from the legacy bucket"}
 *
 * The heartbeat (heartbeat.ts): one line per store (per process) every interval, and a last one when the store closes,
 * with the counters since the previous beat. Zero hits and no data look alike; the heartbeats tell them apart: the
 * audit measures from them how much of its window the log covers. A beat covers [time - periodMs, time]:
 *   {"level":"info","time":"2026-11-26T10:01:00.000Z","name":"photo-store","event":"store.heartbeat",
 *    "instance":"4711-9f2c01ab","mode":"dual-read","intervalMs":60000,"periodMs":60000,"beat":7,
 *    "counts":{"reads":{"new":120,"legacy":0},"fallbackHits":0,...},"msg":"store heartbeat"}
 *
 * Object keys are identifiers, not secrets, so they are logged; nothing else about the object is.
 */
import * as fs from 'fs';
import * as readline from 'readline';
import type { StoreCounts } from './counters';

export const FALLBACK_HIT_EVENT = 'store.fallback_hit';
export const HEARTBEAT_EVENT = 'store.heartbeat';

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

/** What a heartbeat line says (heartbeat.ts writes it). */
export interface HeartbeatReport {
  /** The store's instance: the process id and a random part, so a restarted process is another instance. */
  readonly instance: string;
  readonly mode: string;
  /** The configured interval. */
  readonly intervalMs: number;
  /** Since the previous beat (or the store's start): the beat covers [its time - periodMs, its time]. */
  readonly periodMs: number;
  /** 1, 2, ...: a missing number is a lost line. */
  readonly beat: number;
  /** The last beat, written when the store closes. */
  readonly final?: boolean;
  /** The counters over the period (counters.ts). */
  readonly counts: StoreCounts;
}

/** The fields the store logs with a heartbeat. */
export function heartbeatFields(h: HeartbeatReport): Record<string, unknown> {
  return {
    event: HEARTBEAT_EVENT,
    instance: h.instance,
    mode: h.mode,
    intervalMs: h.intervalMs,
    periodMs: h.periodMs,
    beat: h.beat,
    ...(h.final ? { final: true } : {}),
    counts: h.counts,
  };
}

export interface Heartbeat {
  readonly instance: string;
  readonly mode: string;
  readonly time: Date;
  readonly periodMs: number;
  /** The fallback hits the store counted over the period (0 when the line does not say). */
  readonly fallbackHits: number;
}

/** One log line -> the heartbeat it records, or undefined for any other line (and for a beat without a usable time). */
export function parseHeartbeat(line: string): Heartbeat | undefined {
  const r = jsonEvent(line, HEARTBEAT_EVENT) as
    | { instance?: unknown; mode?: unknown; time?: unknown; periodMs?: unknown; counts?: { fallbackHits?: unknown } }
    | undefined;
  if (!r || typeof r.instance !== 'string' || !r.instance || typeof r.mode !== 'string') return undefined;
  if (typeof r.periodMs !== 'number' || !Number.isFinite(r.periodMs) || r.periodMs < 0) return undefined;
  const time = timeOf(r.time);
  if (!time) return undefined;
  const hits = r.counts?.fallbackHits;
  return {
    instance: r.instance,
    mode: r.mode,
    time,
    periodMs: r.periodMs,
    fallbackHits: typeof hits === 'number' && Number.isSafeInteger(hits) && hits > 0 ? hits : 0,
  };
}

/** A JSON line whose `event` is `event`, parsed; undefined for anything else (cheap for the other lines). */
function jsonEvent(line: string, event: string): Record<string, unknown> | undefined {
  const text = line.trim();
  if (!text.startsWith('{') || !text.includes(event)) return undefined;
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (rec === null || typeof rec !== 'object' || (rec as { event?: unknown }).event !== event) return undefined;
  return rec as Record<string, unknown>;
}

/** A line's `time` (ISO 8601, or epoch milliseconds), or undefined. */
function timeOf(v: unknown): Date | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const time = new Date(v);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

export interface FallbackHit {
  readonly key: string;
  readonly op?: string;
  /** From the line's `time` (ISO 8601, or epoch milliseconds); undefined when the line has none that parses. */
  readonly time?: Date;
}

/** One log line -> the hit it records, or undefined for any other line (other events, non-JSON, blank). */
export function parseFallbackHit(line: string): FallbackHit | undefined {
  const r = jsonEvent(line, FALLBACK_HIT_EVENT) as { key?: unknown; op?: unknown; time?: unknown } | undefined;
  if (!r || typeof r.key !== 'string') return undefined;
  const time = timeOf(r.time);
  return { key: r.key, ...(typeof r.op === 'string' ? { op: r.op } : {}), ...(time ? { time } : {}) };
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
  await forEachLine(file, (line) => counter.add(line));
  return counter.result();
}

/** Reads a (JSON-lines) log file as a stream, line by line (CRLF too); memory does not grow with the file. */
export async function forEachLine(file: string, fn: (line: string) => void): Promise<void> {
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) fn(line);
  } finally {
    lines.close();
    input.destroy();
  }
}
