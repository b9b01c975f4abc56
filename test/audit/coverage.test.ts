/**
 * Evidence that covers the window: the audit measures from the store's heartbeats how much of its window the log
 * covers, from a log file and from Logs Insights (a fake client) alike, and its verdict names the figures. Each case
 * checks the exact line the audit prints (the report's summary), the line the closing note of issue 12 quotes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { coverageProblem, failureReasons } from '../../workspaces/audit-verdict';
import { loadWorkspace } from '../../workspaces/load';
import { CoverageMeter } from '../../migrator/src/audit/coverage';
import {
  countFallbackHitsInCloudWatch,
  coverageBinMs,
  INSIGHTS_MAX_ROWS,
} from '../../migrator/src/audit/fallback-cloudwatch';
import type { FallbackCount } from '../../migrator/src/audit/fallback-count';
import { FALLBACK_HIT_EVENT } from '../../migrator/src/audit/fallback-event';
import { countFallbackHitsInFile } from '../../migrator/src/audit/fallback-log-file';
import { withVerdict, type AuditReport } from '../../migrator/src/audit/report';
import { cleanFacts, legacyObjects } from '../helpers/audit-report';
import { fakeLogs, HEARTBEATS, row, type Row } from '../helpers/fake-logs';
import { heartbeatLines } from '../helpers/heartbeats';
import { tmpDirPerFile } from '../helpers/tmp';

const tmpDir = tmpDirPerFile('bm-coverage-');
const ws = loadWorkspace('prod');
const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const start = new Date('2025-06-01T00:00:00.000Z');
const end = new Date('2025-06-08T00:00:00.000Z');
const window = { start, end };
const at = (ms: number) => new Date(start.getTime() + ms);

function logFile(...parts: string[]): string {
  const file = path.join(tmpDir(), 'photo-service.log');
  fs.writeFileSync(file, parts.join(''));
  return file;
}

const hitLine = (t: Date, key: string) =>
  `${JSON.stringify({ level: 'info', time: t.toISOString(), name: 'photo-service', event: FALLBACK_HIT_EVENT, key, op: 'get', mode: 'dual-read', msg: 'served from the legacy bucket' })}\n`;

/** The audit's verdict on a clean migration with this fallback evidence (the default --max-gap, 15 min). */
function verdict(fallback: FallbackCount, maxGapSeconds = 900): AuditReport {
  const facts = cleanFacts(ws, legacyObjects(3), new Date(end.getTime() + MIN));
  return withVerdict({ ...facts, fallback: { ...fallback, coverage: { ...fallback.coverage, maxGapSeconds } } });
}

/** Three processes: two for the whole week, a third scaled out on days 2 to 4 and stopped (its last beat on close). */
const fullWeek = () =>
  [
    heartbeatLines({ instance: '101-0000000a', first: at(24 * S), until: end }),
    heartbeatLines({ instance: '102-0000000b', first: at(54 * S), until: end }),
    heartbeatLines({ instance: '103-0000000c', first: at(2 * DAY + 30 * S), until: at(4 * DAY) }),
  ].join('');

describe('the verdict on a log file, by its heartbeats', () => {
  test('an empty log fails: no heartbeats', async () => {
    const r = verdict(await countFallbackHitsInFile(logFile(), window));
    expect(r.passed).toBe(false);
    expect(r.fallback.coverage).toMatchObject({
      heartbeats: 0,
      processes: 0,
      coveredSeconds: 0,
      largestGap: { seconds: 7 * 86400 },
    });
    expect(r.summary).toBe(
      "audit of prod FAILED: no heartbeats from the photo store in the 7d 0h window (2025-06-01T00:00:00.000Z to 2025-06-08T00:00:00.000Z): nothing shows the app ran and logged then, so 0 fallback hits prove nothing; check the log source, and that the app's store beats (PHOTO_STORE_HEARTBEAT_MS)",
    );
  });

  test('30 s of log against 7 days fails: the heartbeats span 30 s', async () => {
    // A service started 35 s before the audit, beating every 10 s (PHOTO_STORE_HEARTBEAT_MS=10000).
    const r = verdict(
      await countFallbackHitsInFile(
        logFile(heartbeatLines({ first: new Date(end.getTime() - 25 * S), until: end, everyMs: 10 * S })),
        window,
      ),
    );
    expect(r.passed).toBe(false);
    expect(r.fallback.coverage).toMatchObject({ heartbeats: 3, processes: 1, coveredSeconds: 30 });
    expect(r.summary).toBe(
      "audit of prod FAILED: the heartbeats span only 30s of the 7d 0h window (2025-06-01T00:00:00.000Z to 2025-06-08T00:00:00.000Z): 3 heartbeats from 1 process, from 2025-06-07T23:59:25.000Z to 2025-06-07T23:59:55.000Z, largest gap 6d 23h (allowed 15m 0s, --max-gap); audit a window the app's log covers",
    );
  });

  test('a 2 h gap fails: the process crashed, its successor came up two hours later', async () => {
    const crash = at(3 * DAY + 24 * S);
    const file = logFile(
      heartbeatLines({ instance: '201-0000000a', first: at(24 * S), until: new Date(crash.getTime() + 1) }),
      heartbeatLines({ instance: '202-0000000b', first: new Date(crash.getTime() + 2 * HOUR + MIN), until: end }),
    );
    const r = verdict(await countFallbackHitsInFile(file, window));
    expect(r.passed).toBe(false);
    expect(r.fallback.coverage.largestGap).toEqual({
      seconds: 7200,
      start: '2025-06-04T00:00:24.000Z',
      end: '2025-06-04T02:00:24.000Z',
    });
    expect(r.summary).toBe(
      'audit of prod FAILED: the heartbeats leave a gap of 2h 0m (2025-06-04T00:00:24.000Z to 2025-06-04T02:00:24.000Z), longer than the 15m 0s allowed (--max-gap): 9,960 heartbeats from 2 processes cover 6d 21h of the 7d 0h window; no process beat (or its log was lost) then',
    );
  });

  test('full coverage with 0 hits passes, and says what covered it', async () => {
    const r = verdict(await countFallbackHitsInFile(logFile(fullWeek()), window));
    expect(r.reasons).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r.fallback.coverage).toMatchObject({
      heartbeats: 23_040,
      processes: 3,
      byMode: { 'dual-read': 23_040 },
      coveredSeconds: 7 * 86400 - 6,
      fallbackHits: 0,
    });
    expect(r.summary).toBe(
      'audit of prod PASSED: 3 legacy keys (3 verified copies, 0 kept as the app wrote them), 0 fallback hits in 7d 0h, covered by 23,040 heartbeats from 3 processes, largest gap 6s',
    );
  });

  test('one hit fails, named with its time', async () => {
    const hitAt = at(5 * DAY + 10 * S);
    const file = logFile(
      fullWeek(),
      hitLine(hitAt, 'chats/7/photo.jpg'),
      heartbeatLines({
        instance: '104-0000000d',
        first: at(5 * DAY + 30 * S),
        until: at(5 * DAY + 31 * S),
        hitsAt: { 0: 1 },
      }),
    );
    const r = verdict(await countFallbackHitsInFile(file, window));
    expect(r.passed).toBe(false);
    expect(r.fallback).toMatchObject({
      hits: 1,
      sampleKeys: ['chats/7/photo.jpg'],
      coverage: { fallbackHits: 1, processes: 4 },
    });
    expect(r.summary).toBe(
      'audit of prod FAILED: 1 fallback hit(s) between 2025-06-01T00:00:00.000Z and 2025-06-08T00:00:00.000Z (last at 2025-06-06T00:00:10.000Z): the app still reads from the legacy bucket',
    );
  });

  test('a hit the heartbeats counted but whose line is missing fails too', async () => {
    const file = logFile(
      fullWeek(),
      heartbeatLines({
        instance: '104-0000000d',
        first: at(5 * DAY + 30 * S),
        until: at(5 * DAY + 31 * S),
        hitsAt: { 0: 1 },
      }),
    );
    const r = verdict(await countFallbackHitsInFile(file, window));
    expect(r.reasons).toEqual([
      'the heartbeats count 1 fallback hit(s) in the window, the log holds 0 fallback-hit line(s): the app still reads from the legacy bucket, and lines are missing from the log',
    ]);
  });

  test('beats of a store in legacy-only mode are no evidence: they fail the audit and cover nothing', async () => {
    const r = verdict(
      await countFallbackHitsInFile(
        logFile(
          fullWeek(),
          heartbeatLines({ instance: '301-0000000e', mode: 'legacy-only', first: at(DAY), until: at(DAY + 2 * MIN) }),
        ),
        window,
      ),
    );
    expect(r.fallback.coverage).toMatchObject({
      heartbeats: 23_042,
      processes: 4,
      byMode: { 'dual-read': 23_040, 'legacy-only': 2 },
    });
    expect(r.reasons).toEqual([
      '2 heartbeats in the window from a store in legacy-only mode: that app still reads and writes the legacy bucket',
    ]);
  });
});

describe('the verdict on a Logs Insights answer (a fake CloudWatch Logs client)', () => {
  const BIN = 5 * MIN;
  /**
   * The rows the heartbeats' query gives for beats every minute: per instance and 5-minute bin, as Insights groups
   * them.
   */
  function binRows(instance: string, times: number[], from = -Infinity, to = Infinity): Row[] {
    const bins = new Map<number, number[]>();
    for (const t of times.filter((t) => t >= from && t < to))
      bins.set(Math.floor(t / BIN), [...(bins.get(Math.floor(t / BIN)) ?? []), t]);
    return [...bins].map(([b, ts]) =>
      row({
        instance,
        mode: 'dual-read',
        'bin(5m)': new Date(b * BIN).toISOString(),
        beats: String(ts.length),
        fromMs: String(Math.min(...ts) - MIN),
        toMs: String(Math.max(...ts)),
        hits: '0',
      }),
    );
  }
  const everyMinute = (from: number, until: number) =>
    Array.from({ length: Math.ceil((until - from) / MIN) }, (_, i) => from + i * MIN);
  const crash = start.getTime() + 3 * DAY + 24 * S;
  const beforeGap = everyMinute(start.getTime() + 24 * S, crash + 1);
  const afterGap = everyMinute(crash + 2 * HOUR + MIN, end.getTime());
  const base = {
    logGroup: '/ecs/chat-app',
    region: 'eu-west-1',
    window,
    timeoutMs: 60_000,
    pollMs: 10,
    sleep: async () => undefined,
  };

  test('an answer with a 2 h gap fails with the same line as the log file', async () => {
    const { client } = fakeLogs({
      [HEARTBEATS]: { results: [...binRows('201-0000000a', beforeGap), ...binRows('202-0000000b', afterGap)] },
    });
    const c = await countFallbackHitsInCloudWatch({ ...base, client });
    expect(c.coverage).toMatchObject({
      heartbeats: 9960,
      processes: 2,
      resolutionSeconds: 300,
      largestGap: { seconds: 7200, start: '2025-06-04T00:00:24.000Z', end: '2025-06-04T02:00:24.000Z' },
    });
    const r = verdict(c);
    expect(r.passed).toBe(false);
    expect(r.summary).toBe(
      'audit of prod FAILED: the heartbeats leave a gap of 2h 0m (2025-06-04T00:00:24.000Z to 2025-06-04T02:00:24.000Z), longer than the 15m 0s allowed (--max-gap): 9,960 heartbeats from 2 processes cover 6d 21h of the 7d 0h window; no process beat (or its log was lost) then',
    );
  });

  test('an answer cut off at 10,000 rows is asked again for each half of the window, beats kept apart to the millisecond', async () => {
    const all = [...beforeGap, ...afterGap];
    const { client, calls } = fakeLogs({
      [HEARTBEATS]: {
        results: (q) => {
          const [, from, to] = /beatAt >= (\d+) and beatAt < (\d+)/.exec(q)!.map(Number);
          return to - from > 4 * DAY
            ? Array.from({ length: INSIGHTS_MAX_ROWS }, () => row({}))
            : binRows('201-0000000a', all, from, to);
        },
      },
    });
    const c = await countFallbackHitsInCloudWatch({ ...base, client });
    const ranges = calls
      .filter((x) => x.name === 'StartQueryCommand' && String(x.input.queryString).includes('store.heartbeat'))
      .map((x) => /beatAt >= (\d+) and beatAt < (\d+)/.exec(String(x.input.queryString))!.slice(1).map(Number));
    const mid = start.getTime() + 3.5 * DAY;
    expect(ranges).toEqual([
      [start.getTime(), end.getTime()],
      [start.getTime(), mid],
      [mid, end.getTime()],
    ]);
    expect(c.coverage).toMatchObject({ heartbeats: all.length, processes: 1, largestGap: { seconds: 7200 } });
  });

  test('the bins are never longer than the gap allowed, so a gap that long always shows', () => {
    expect([15 * MIN, 5 * MIN, 3 * MIN, MIN, 30 * S, 10 * S, 2 * S].map(coverageBinMs)).toEqual([
      5 * MIN,
      5 * MIN,
      MIN,
      MIN,
      10 * S,
      10 * S,
      S,
    ]);
  });

  test('a covered week passes', async () => {
    const { client } = fakeLogs({
      [HEARTBEATS]: {
        results: [
          ...binRows('101-0000000a', everyMinute(start.getTime() + 24 * S, end.getTime())),
          ...binRows('102-0000000b', everyMinute(start.getTime() + 54 * S, end.getTime())),
        ],
      },
    });
    const r = verdict(await countFallbackHitsInCloudWatch({ ...base, client }));
    expect(r.summary).toBe(
      'audit of prod PASSED: 3 legacy keys (3 verified copies, 0 kept as the app wrote them), 0 fallback hits in 7d 0h, covered by 20,160 heartbeats from 2 processes, largest gap 6s',
    );
  });
});

describe('measuring', () => {
  test("beats out of order merge; a period before the window is cut off, and its hits are not the window's", () => {
    const m = new CoverageMeter(window);
    const span = (instance: string, a: number, b: number, hits = 0) => ({
      instance,
      mode: 'dual-read',
      startMs: start.getTime() + a,
      endMs: start.getTime() + b,
      beats: 1,
      fallbackHits: hits,
    });
    m.add(span('a', 5 * HOUR, 6 * HOUR));
    m.add(span('a', -MIN, 59 * S, 2)); // began before the window: covers from its start; its 2 hits may predate it
    m.add(span('b', 2 * HOUR, 3 * HOUR));
    m.add(span('b', 59 * S, 2 * HOUR + 1, 1)); // joins the first and the third
    m.add(span('c', 7 * DAY, 7 * DAY + MIN)); // ends at the window's end: not in it
    const c = m.result();
    expect(c).toMatchObject({
      heartbeats: 4,
      processes: 2,
      coveredSeconds: 4 * 3600,
      fallbackHits: 1,
      firstCoveredAt: start.toISOString(),
      lastCoveredAt: at(6 * HOUR).toISOString(),
    });
    expect(c.largestGap).toEqual({
      seconds: 7 * 86400 - 6 * 3600,
      start: at(6 * HOUR).toISOString(),
      end: end.toISOString(),
    });
    // Both edges count as gaps: 10 min at each end fail a 15 min allowance on the span, though no single gap does.
    const edges = new CoverageMeter(window);
    edges.add({
      instance: 'a',
      mode: 'dual-read',
      startMs: start.getTime() + 10 * MIN,
      endMs: end.getTime() - 10 * MIN,
      beats: 1,
      fallbackHits: 0,
    });
    expect(coverageProblem({ start: start.toISOString(), end: end.toISOString() }, edges.result(), 15 * MIN)).toMatch(
      /^the heartbeats span only 6d 23h of the 7d 0h window/,
    );
    expect(
      coverageProblem({ start: start.toISOString(), end: end.toISOString() }, edges.result(), 20 * MIN),
    ).toBeUndefined();
  });

  test('failureReasons derives the verdict again from the figures: an edited verdict does not survive', () => {
    const facts = cleanFacts(ws, legacyObjects(3), new Date(end.getTime() + MIN));
    const edited = {
      ...withVerdict(facts),
      fallback: { ...facts.fallback, coverage: { ...facts.fallback.coverage, heartbeats: 0, byMode: {} } },
    };
    expect(edited.passed).toBe(true);
    expect(failureReasons(edited)).toEqual([
      expect.stringMatching(/^no heartbeats from the photo store in the 8d 0h window/),
    ]);
  });
});
