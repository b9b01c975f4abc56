/**
 * Counts the store's fallback-hit events in a local JSON-lines log file (the app's log on the rig, or any log copied
 * off a host): one JSON object per line; lines that are not a JSON object are counted and skipped. An event counts when its
 * `time` (ISO 8601, or epoch milliseconds as pino writes by default) falls in [start, end); a hit without a readable
 * time is counted too, since it cannot be shown to lie outside the window. Streamed: memory does not grow with the
 * file.
 */
import * as fs from 'fs';
import * as readline from 'readline';
import { ConfigError } from '../../../workspaces/load';
import { FALLBACK_HIT_EVENT, FALLBACK_HIT_FIELDS } from './fallback-event';
import { SAMPLE_KEYS, type FallbackCount } from './fallback-count';
import { windowSeconds, type TimeWindow } from './window';

function eventTime(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

export async function countFallbackHitsInFile(file: string, window: TimeWindow): Promise<FallbackCount> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new ConfigError(`fallback log ${file} does not exist; give the app's JSON-lines log with --fallback-log (or set app.localLogFile / app.logGroup in the workspace)`);
  }
  if (!stat.isFile()) throw new ConfigError(`fallback log ${file} is not a file`);
  const start = window.start.getTime();
  const end = window.end.getTime();
  let read = 0;
  let unparsable = 0;
  let untimedHits = 0;
  let hits = 0;
  let first: number | undefined;
  let last: number | undefined;
  const keys = new Set<string>();
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    read++;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      unparsable++;
      continue;
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      unparsable++;
      continue;
    }
    const r = rec as Record<string, unknown>;
    if (r[FALLBACK_HIT_FIELDS.event] !== FALLBACK_HIT_EVENT) continue;
    const t = eventTime(r[FALLBACK_HIT_FIELDS.time]);
    if (t === undefined) untimedHits++;
    else if (t < start || t >= end) continue;
    else {
      first = first === undefined ? t : Math.min(first, t);
      last = last === undefined ? t : Math.max(last, t);
    }
    hits++;
    const key = r[FALLBACK_HIT_FIELDS.key];
    if (typeof key === 'string' && keys.size < SAMPLE_KEYS) keys.add(key);
  }
  return {
    source: { kind: 'file', location: file },
    event: FALLBACK_HIT_EVENT,
    window: { start: window.start.toISOString(), end: window.end.toISOString(), seconds: windowSeconds(window) },
    hits,
    firstHitAt: first === undefined ? undefined : new Date(first).toISOString(),
    lastHitAt: last === undefined ? undefined : new Date(last).toISOString(),
    sampleKeys: [...keys],
    lines: { read, unparsable, untimedHits },
  };
}
