/**
 * Counts the store's fallback-hit events in a time window with CloudWatch Logs Insights on the app's log group:
 * StartQuery, then GetQueryResults every `pollMs` until the query is Complete (or Failed, Cancelled, timed out), with a
 * bound on the whole wait after which the query is stopped (StopQuery) and the count fails.
 *
 * Three queries: the count (hits, distinct keys, first and last hit); only when there are hits, the most-hit keys; and
 * the heartbeats per store instance and time bin, from which the window's coverage is measured (coverage.ts). A query
 * returns at most 10,000 rows (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Limit.html):
 * an answer that full is cut off, so the coverage query is run again on each half of its range until none is (its own
 * filter keeps the halves' beats apart to the millisecond).
 * The caller needs INSIGHTS_QUERY_ACTIONS on the log group (the SDK's default credentials: the operator's, not the
 * migration roles').
 */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
  type ResultField,
} from '@aws-sdk/client-cloudwatch-logs';
import { ConfigError } from '../../../workspaces/errors';
import { clientConfig } from '../aws/clients';
import { describeAwsError, errorCodeOf, nameOperations } from '../aws/errors';
import { CoverageMeter } from './coverage';
import { FALLBACK_HIT_EVENT, FALLBACK_HIT_FIELDS, HEARTBEAT_EVENT } from './fallback-event';
import { SAMPLE_KEYS, type FallbackCount } from './fallback-count';
import { windowSeconds, type TimeWindow } from './window';

export type LogsClient = Pick<CloudWatchLogsClient, 'send'>;

/**
 * What the caller (the operator running the audit, not a migration role: no stack grants these) needs on the app's log
 * group.
 */
export const INSIGHTS_QUERY_ACTIONS = ['logs:StartQuery', 'logs:GetQueryResults', 'logs:StopQuery'] as const;

export interface InsightsOptions {
  readonly client: LogsClient;
  readonly logGroup: string;
  readonly region: string;
  readonly window: TimeWindow;
  /** How long to wait for each query, in all. */
  readonly timeoutMs: number;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  /** The time bin the heartbeats are read in (coverageBinMs); default 5 minutes. */
  readonly binMs?: number;
}

export class InsightsQueryError extends Error {
  override readonly name = 'InsightsQueryError';
}

/** The query that counts fallback hits: paste it into the Logs Insights console to see the same figures. */
export const COUNT_QUERY = [
  `filter ${FALLBACK_HIT_FIELDS.event} = "${FALLBACK_HIT_EVENT}"`,
  `| stats count(*) as hits, count_distinct(${FALLBACK_HIT_FIELDS.key}) as distinctKeys, min(@timestamp) as firstHit, max(@timestamp) as lastHit`,
].join('\n');

export const KEYS_QUERY = [
  `filter ${FALLBACK_HIT_FIELDS.event} = "${FALLBACK_HIT_EVENT}"`,
  `| stats count(*) as hits by ${FALLBACK_HIT_FIELDS.key}`,
  '| sort hits desc',
  `| limit ${SAMPLE_KEYS}`,
].join('\n');

/** The most rows a Logs Insights query returns. */
export const INSIGHTS_MAX_ROWS = 10_000;

/**
 * The heartbeats per store instance (and mode) and time bin, of the beats whose time is in [start, end) to the
 * millisecond (StartQuery's range is whole seconds, both ends included): each row the bin's beats, the start of its
 * first beat's period, its last beat's time (epoch ms) and the fallback hits they counted. `bin`: an Insights period.
 * @timestamp is the time the log shipper gave the event, and nested JSON fields are flattened with dots
 * (`counts.fallbackHits`):
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html and
 * CWL_QuerySyntax-Parse.html ("JSON log events are flattened during ingestion").
 */
export function coverageQuery(bin: string, window: TimeWindow): string {
  return [
    `filter ${FALLBACK_HIT_FIELDS.event} = "${HEARTBEAT_EVENT}"`,
    '| fields toMillis(@timestamp) as beatAt, toMillis(@timestamp) - periodMs as beatFrom',
    `| filter beatAt >= ${window.start.getTime()} and beatAt < ${window.end.getTime()}`,
    `| stats count(*) as beats, min(beatFrom) as fromMs, max(beatAt) as toMs, sum(counts.fallbackHits) as hits by instance, mode, bin(${bin})`,
  ].join('\n');
}

/**
 * The bin the heartbeats are read in: at most the longest gap allowed, so a gap that long always shows (a gap longer
 * than a bin is measured exactly; a shorter one may hide inside a bin), and 5 minutes at most (7 days of 3 processes:
 * about 6,000 rows, one query).
 */
export function coverageBinMs(maxGapMs: number): number {
  for (const bin of [300_000, 60_000, 10_000]) if (bin <= maxGapMs) return bin;
  return 1_000;
}

const insightsPeriod = (ms: number) =>
  ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.max(1, Math.round(ms / 1000))}s`;

/** A CloudWatch Logs client for the workspace's region, with the shared transport and the SDK's default credentials. */
export function createLogsClient(region: string): CloudWatchLogsClient {
  const { requestHandler, retryStrategy } = clientConfig({ region, s3Compatible: false });
  return nameOperations(new CloudWatchLogsClient({ region, requestHandler, retryStrategy }));
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Insights prints @timestamp as "2025-06-01 09:00:00.000" (UTC). */
function insightsTime(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v.replace(' ', 'T') : `${v.replace(' ', 'T')}Z`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function rowsOf(results: ResultField[][] | undefined): Record<string, string>[] {
  return (results ?? []).map((row) =>
    Object.fromEntries(row.filter((f) => f.field).map((f) => [f.field!, f.value ?? ''])),
  );
}

/** Runs one query to completion and returns its rows. */
export async function runInsightsQuery(o: InsightsOptions, queryString: string): Promise<Record<string, string>[]> {
  const sleep = o.sleep ?? delay;
  const now = o.now ?? Date.now;
  let queryId: string | undefined;
  try {
    const started = await o.client.send(
      new StartQueryCommand({
        logGroupName: o.logGroup,
        startTime: Math.floor(o.window.start.getTime() / 1000),
        endTime: Math.ceil(o.window.end.getTime() / 1000),
        queryString,
      }),
      { abortSignal: o.signal },
    );
    queryId = started.queryId;
  } catch (err) {
    const code = errorCodeOf(err);
    if (code === 'ResourceNotFoundException') {
      throw new ConfigError(
        `app.logGroup: log group "${o.logGroup}" does not exist in ${o.region}; check the workspace's app.logGroup`,
      );
    }
    if (
      code === 'AccessDeniedException' ||
      code === 'UnrecognizedClientException' ||
      code === 'CredentialsProviderError'
    ) {
      throw new ConfigError(
        `cannot query log group "${o.logGroup}" in ${o.region} (${describeAwsError(err)}); the audit needs ${INSIGHTS_QUERY_ACTIONS.join(', ')} on it`,
      );
    }
    throw new InsightsQueryError(`Logs Insights StartQuery on "${o.logGroup}" failed: ${describeAwsError(err)}`);
  }
  if (!queryId) throw new InsightsQueryError(`Logs Insights StartQuery on "${o.logGroup}" returned no query id`);
  const deadline = now() + o.timeoutMs;
  for (;;) {
    const out = await o.client.send(new GetQueryResultsCommand({ queryId }), { abortSignal: o.signal });
    switch (out.status) {
      case 'Complete':
        return rowsOf(out.results);
      case 'Failed':
      case 'Cancelled':
      case 'Timeout':
        throw new InsightsQueryError(
          `Logs Insights query ${queryId} on "${o.logGroup}" ended with status ${out.status}`,
        );
      default:
        break; // Scheduled, Running, Unknown: wait
    }
    if (now() >= deadline) {
      await o.client.send(new StopQueryCommand({ queryId })).catch(() => undefined);
      throw new InsightsQueryError(
        `Logs Insights query ${queryId} on "${o.logGroup}" did not complete within ${Math.round(o.timeoutMs / 1000)} s (stopped); retry, or raise --query-timeout`,
      );
    }
    await sleep(o.pollMs ?? 1000);
  }
}

/** Reads the heartbeats of the window into a coverage meter, halving a range whose answer is cut off. */
async function measureCoverage(o: InsightsOptions, binMs: number): Promise<CoverageMeter> {
  const meter = new CoverageMeter(o.window);
  const bin = insightsPeriod(binMs);
  const read = async (window: TimeWindow): Promise<void> => {
    const rows = await runInsightsQuery({ ...o, window }, coverageQuery(bin, window));
    if (rows.length >= INSIGHTS_MAX_ROWS) {
      const span = window.end.getTime() - window.start.getTime();
      if (span <= binMs) {
        throw new InsightsQueryError(
          `Logs Insights returned ${rows.length} heartbeat rows (its most) for a single ${bin} bin: too many store instances to measure coverage`,
        );
      }
      const mid = new Date(window.start.getTime() + Math.floor(span / 2));
      await read({ start: window.start, end: mid });
      await read({ start: mid, end: window.end });
      return;
    }
    for (const r of rows) {
      const toMs = Number(r.toMs);
      if (!r.instance || !Number.isFinite(toMs)) continue;
      const fromMs = Number(r.fromMs);
      const beats = Number(r.beats);
      const hits = Number(r.hits);
      meter.add({
        instance: r.instance,
        mode: r.mode || 'unknown',
        startMs: Number.isFinite(fromMs) && fromMs <= toMs ? fromMs : toMs,
        endMs: toMs,
        beats: Number.isSafeInteger(beats) && beats > 0 ? beats : 1,
        fallbackHits: Number.isSafeInteger(hits) && hits > 0 ? hits : 0,
      });
    }
  };
  await read(o.window);
  return meter;
}

export async function countFallbackHitsInCloudWatch(o: InsightsOptions): Promise<FallbackCount> {
  const [counts] = await runInsightsQuery(o, COUNT_QUERY);
  const hits = counts ? Number(counts.hits ?? 0) : 0;
  if (!Number.isSafeInteger(hits) || hits < 0)
    throw new InsightsQueryError(`Logs Insights returned an unreadable count (${counts?.hits})`);
  const keys =
    hits > 0
      ? (await runInsightsQuery(o, KEYS_QUERY))
          .map((r) => r[FALLBACK_HIT_FIELDS.key])
          .filter((k): k is string => Boolean(k))
      : [];
  const distinct = counts ? Number(counts.distinctKeys) : NaN;
  const binMs = o.binMs ?? 300_000;
  const coverage = await measureCoverage(o, binMs);
  return {
    source: { kind: 'cloudwatch', location: o.logGroup, region: o.region },
    event: FALLBACK_HIT_EVENT,
    window: { start: o.window.start.toISOString(), end: o.window.end.toISOString(), seconds: windowSeconds(o.window) },
    hits,
    distinctKeys: Number.isSafeInteger(distinct) ? distinct : undefined,
    firstHitAt: hits ? insightsTime(counts?.firstHit) : undefined,
    lastHitAt: hits ? insightsTime(counts?.lastHit) : undefined,
    sampleKeys: keys,
    query: COUNT_QUERY,
    coverageQuery: coverageQuery(insightsPeriod(binMs), o.window),
    coverage: coverage.result(binMs / 1000),
  };
}
