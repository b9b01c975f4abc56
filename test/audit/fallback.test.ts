/**
 * Counting the store's fallback hits: in a JSON-lines file, and with CloudWatch Logs Insights (a fake client that
 * answers StartQuery / GetQueryResults / StopQuery as the service does). How the heartbeats cover the window, and the
 * verdict on it: coverage.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../../workspaces/errors';
import {
  COUNT_QUERY,
  countFallbackHitsInCloudWatch,
  coverageQuery,
  InsightsQueryError,
  KEYS_QUERY,
} from '../../migrator/src/audit/fallback-cloudwatch';
import { FALLBACK_HIT_EVENT } from '../../migrator/src/audit/fallback-event';
import { resolveFallbackSource } from '../../migrator/src/audit/fallback-hits';
import { countFallbackHitsInFile } from '../../migrator/src/audit/fallback-log-file';
import { loadWorkspace } from '../../workspaces/load';
import { fakeLogs, row } from '../helpers/fake-logs';
import { tmpDirPerFile } from '../helpers/tmp';

const tmpDir = tmpDirPerFile('bm-fallback-');
const window = { start: new Date('2025-06-01T00:00:00Z'), end: new Date('2025-06-08T00:00:00Z') };

describe('fallback hits in a JSON-lines log file', () => {
  test("counts the events in [start, end) with the store's parser, skips other lines, and counts untimed hits", async () => {
    const file = path.join(tmpDir(), 'app.log');
    const hit = (time: unknown, key: string) => JSON.stringify({ level: 'info', event: FALLBACK_HIT_EVENT, key, time });
    fs.writeFileSync(
      file,
      [
        hit('2025-05-31T23:59:59.999Z', 'before'),
        hit('2025-06-01T00:00:00.000Z', 'at-start'),
        hit(Date.parse('2025-06-03T12:00:00Z'), 'epoch-ms'),
        JSON.stringify({ event: 'store.read', key: 'other-event', time: '2025-06-03T12:00:00Z' }),
        'Error: something printed by a library',
        hit('not a time', 'untimed'),
        hit('2025-06-07T23:59:59.000Z', 'at-end'),
        hit('2025-06-07T23:59:59.500Z', 'at-end'),
        hit('2025-06-08T00:00:00.000Z', 'after'),
      ].join('\n'),
    );
    const c = await countFallbackHitsInFile(file, window);
    expect(c).toEqual({
      source: { kind: 'file', location: file },
      event: 'store.fallback_hit',
      hits: 5,
      distinctKeys: 4,
      firstHitAt: '2025-06-01T00:00:00.000Z',
      lastHitAt: '2025-06-07T23:59:59.500Z',
      sampleKeys: ['at-start', 'epoch-ms', 'untimed', 'at-end'],
      lines: { read: 9, untimedHits: 1 },
      window: { start: '2025-06-01T00:00:00.000Z', end: '2025-06-08T00:00:00.000Z', seconds: 7 * 86400 },
      coverage: {
        heartbeats: 0,
        processes: 0,
        byMode: {},
        coveredSeconds: 0,
        largestGap: { seconds: 7 * 86400, start: '2025-06-01T00:00:00.000Z', end: '2025-06-08T00:00:00.000Z' },
        fallbackHits: 0,
      },
    });
  });

  test('an empty log has zero hits; a missing one is a bad input', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'empty.log'), '');
    expect((await countFallbackHitsInFile(path.join(dir, 'empty.log'), window)).hits).toBe(0);
    await expect(countFallbackHitsInFile(path.join(dir, 'nope.log'), window)).rejects.toThrow(ConfigError);
  });
});

describe('the source of fallback hits', () => {
  test('--fallback-log, else app.logGroup, else app.localLogFile; none is a bad input', () => {
    const dir = tmpDir();
    const log = path.join(dir, 'a.log');
    fs.writeFileSync(log, '');
    const dev = loadWorkspace('dev');
    expect(resolveFallbackSource(dev)).toEqual({ kind: 'cloudwatch', location: dev.app.logGroup, region: dev.region });
    expect(resolveFallbackSource(dev, log)).toEqual({ kind: 'file', location: log });
    const local = { ...loadWorkspace('local'), app: { localLogFile: log } };
    expect(resolveFallbackSource(local)).toEqual({ kind: 'file', location: log });
    expect(() => resolveFallbackSource({ ...dev, app: {} })).toThrow(
      /dev\.json: app: names no log of the store's fallback hits; set app\.logGroup/,
    );
    expect(() => resolveFallbackSource(dev, path.join(dir, 'missing.log'))).toThrow(
      /^--fallback-log: the fallback log .*missing\.log does not exist/,
    );
  });
});

describe('fallback hits from CloudWatch Logs Insights', () => {
  const base = {
    logGroup: '/ecs/chat-app',
    region: 'eu-west-1',
    window,
    timeoutMs: 60_000,
    pollMs: 10,
    sleep: async () => undefined,
  };

  test("zero hits: one count query over the window, polled until complete, then the heartbeats' query", async () => {
    const { client, calls } = fakeLogs({
      [COUNT_QUERY]: { polls: 3, results: [row({ hits: '0', distinctKeys: '0' })] },
    });
    const c = await countFallbackHitsInCloudWatch({ ...base, client });
    const beats = coverageQuery('5m', window);
    expect(c).toMatchObject({
      hits: 0,
      distinctKeys: 0,
      sampleKeys: [],
      source: { kind: 'cloudwatch', location: '/ecs/chat-app', region: 'eu-west-1' },
      query: COUNT_QUERY,
      coverageQuery: beats,
    });
    expect(calls[0]).toEqual({
      name: 'StartQueryCommand',
      input: {
        logGroupName: '/ecs/chat-app',
        startTime: window.start.getTime() / 1000,
        endTime: window.end.getTime() / 1000,
        queryString: COUNT_QUERY,
      },
    });
    expect(calls.map((c) => c.name)).toEqual([
      'StartQueryCommand',
      ...Array(4).fill('GetQueryResultsCommand'),
      'StartQueryCommand',
      'GetQueryResultsCommand',
    ]);
    expect(calls[5].input).toMatchObject({
      startTime: window.start.getTime() / 1000,
      endTime: window.end.getTime() / 1000,
      queryString: beats,
    });
    expect(COUNT_QUERY).toContain('filter event = "store.fallback_hit"');
    expect(beats).toBe(
      [
        'filter event = "store.heartbeat"',
        '| fields toMillis(@timestamp) as beatAt, toMillis(@timestamp) - periodMs as beatFrom',
        `| filter beatAt >= ${window.start.getTime()} and beatAt < ${window.end.getTime()}`,
        '| stats count(*) as beats, min(beatFrom) as fromMs, max(beatAt) as toMs, sum(counts.fallbackHits) as hits by instance, mode, bin(5m)',
      ].join('\n'),
    );
  });

  test('no rows at all (no matching events) is zero hits too', async () => {
    const { client } = fakeLogs({ [COUNT_QUERY]: { results: [] } });
    expect((await countFallbackHitsInCloudWatch({ ...base, client })).hits).toBe(0);
  });

  test('hits: the count, first and last (Insights times read as UTC), and the most-hit keys', async () => {
    const { client, calls } = fakeLogs({
      [COUNT_QUERY]: {
        results: [
          row({
            hits: '5',
            distinctKeys: '2',
            firstHit: '2025-06-02 08:00:00.000',
            lastHit: '2025-06-05 09:30:00.123',
          }),
        ],
      },
      [KEYS_QUERY]: {
        polls: 1,
        results: [row({ key: 'chats/1/a.jpg', hits: '4' }), row({ key: 'chats/2/b.jpg', hits: '1' })],
      },
    });
    const c = await countFallbackHitsInCloudWatch({ ...base, client });
    expect(c).toMatchObject({
      hits: 5,
      distinctKeys: 2,
      firstHitAt: '2025-06-02T08:00:00.000Z',
      lastHitAt: '2025-06-05T09:30:00.123Z',
      sampleKeys: ['chats/1/a.jpg', 'chats/2/b.jpg'],
    });
    expect(calls.filter((c) => c.name === 'StartQueryCommand').map((c) => c.input.queryString)).toEqual([
      COUNT_QUERY,
      KEYS_QUERY,
      coverageQuery('5m', window),
    ]);
  });

  test('a query that does not complete in time is stopped, and the count fails', async () => {
    let t = 0;
    const { client, calls } = fakeLogs({ [COUNT_QUERY]: { polls: 1_000 } });
    const run = countFallbackHitsInCloudWatch({
      ...base,
      client,
      timeoutMs: 5_000,
      now: () => t,
      sleep: async (ms) => void (t += ms * 100),
    });
    await expect(run).rejects.toThrow(InsightsQueryError);
    await expect(run).rejects.toThrow(/did not complete within 5 s \(stopped\); retry, or raise --query-timeout/);
    expect(calls.filter((c) => c.name === 'StopQueryCommand')).toEqual([
      { name: 'StopQueryCommand', input: { queryId: `q-${COUNT_QUERY}` } },
    ]);
  });

  test('a failed query, a missing log group and a refused caller', async () => {
    await expect(
      countFallbackHitsInCloudWatch({ ...base, client: fakeLogs({ [COUNT_QUERY]: { status: 'Failed' } }).client }),
    ).rejects.toThrow(/ended with status Failed/);
    const missing = Object.assign(new Error('The specified log group does not exist.'), {
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(countFallbackHitsInCloudWatch({ ...base, client: fakeLogs({}, missing).client })).rejects.toThrow(
      new ConfigError(
        'app.logGroup: log group "/ecs/chat-app" does not exist in eu-west-1; check the workspace\'s app.logGroup',
      ),
    );
    const denied = Object.assign(new Error('not authorized to perform: logs:StartQuery'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(countFallbackHitsInCloudWatch({ ...base, client: fakeLogs({}, denied).client })).rejects.toThrow(
      /needs logs:StartQuery, logs:GetQueryResults, logs:StopQuery on it$/,
    );
  });
});
