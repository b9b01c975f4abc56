/**
 * Counts the store's fallback-hit events in a local JSON-lines log file (the app's log on the rig, or any log copied
 * off a host) with the store's own parser and counter (migrator/src/store/fallback-events.ts): an event counts when
 * its `time` falls in [start, end); a hit without a readable time is counted too, since it cannot be shown to lie
 * outside the window. In the same pass it measures the window's coverage by the store's heartbeats (coverage.ts).
 * Streamed: memory does not grow with the file.
 */
import * as fs from 'fs';
import { ConfigError } from '../../../workspaces/errors';
import { FALLBACK_HIT_EVENT, FallbackHitCounter, forEachLine, parseHeartbeat } from '../store/fallback-events';
import { CoverageMeter } from './coverage';
import { SAMPLE_KEYS, type FallbackCount } from './fallback-count';
import { windowSeconds, type TimeWindow } from './window';

export async function countFallbackHitsInFile(file: string, window: TimeWindow): Promise<FallbackCount> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new ConfigError(
      `fallback log ${file} does not exist; give the app's JSON-lines log with --fallback-log (or set app.localLogFile / app.logGroup in the workspace)`,
    );
  }
  if (!stat.isFile()) throw new ConfigError(`fallback log ${file} is not a file`);
  const counter = new FallbackHitCounter({ since: window.start, until: window.end });
  const coverage = new CoverageMeter(window);
  await forEachLine(file, (line) => {
    counter.add(line);
    const beat = parseHeartbeat(line);
    if (beat) {
      const at = beat.time.getTime();
      coverage.add({
        instance: beat.instance,
        mode: beat.mode,
        startMs: at - beat.periodMs,
        endMs: at,
        beats: 1,
        fallbackHits: beat.fallbackHits,
      });
    }
  });
  const c = counter.result();
  return {
    source: { kind: 'file', location: file },
    event: FALLBACK_HIT_EVENT,
    window: { start: window.start.toISOString(), end: window.end.toISOString(), seconds: windowSeconds(window) },
    hits: c.hits,
    distinctKeys: c.distinctKeysCapped ? undefined : c.distinctKeys,
    firstHitAt: c.first?.toISOString(),
    lastHitAt: c.last?.toISOString(),
    sampleKeys: c.sampleKeys.slice(0, SAMPLE_KEYS),
    lines: { read: c.lines, untimedHits: c.untimed },
    coverage: coverage.result(),
  };
}
