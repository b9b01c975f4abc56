/**
 * Counts the store's fallback-hit events in a time window with CloudWatch Logs Insights on the app's log group:
 * StartQuery, then GetQueryResults every `pollMs` until the query is Complete (or Failed, Cancelled, timed out), with a
 * bound on the whole wait after which the query is stopped (StopQuery) and the count fails.
 *
 * Two queries: the count (hits, distinct keys, first and last hit), and, only when there are hits, the most-hit keys.
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
import { ConfigError } from '../../../workspaces/load';
import { clientConfig } from '../aws/clients';
import { describeAwsError, errorCodeOf } from '../aws/errors';
import { FALLBACK_HIT_EVENT, FALLBACK_HIT_FIELDS } from './fallback-event';
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

/** A CloudWatch Logs client for the workspace's region, with the shared transport and the SDK's default credentials. */
export function createLogsClient(region: string): CloudWatchLogsClient {
  const { requestHandler, retryStrategy } = clientConfig({ region, s3Compatible: false });
  return new CloudWatchLogsClient({ region, requestHandler, retryStrategy });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Insights prints @timestamp as "2025-06-01 09:00:00.000" (UTC). */
function insightsTime(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v.replace(' ', 'T') : `${v.replace(' ', 'T')}Z`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function rowsOf(results: ResultField[][] | undefined): Record<string, string>[] {
  return (results ?? []).map((row) => Object.fromEntries(row.filter((f) => f.field).map((f) => [f.field!, f.value ?? ''])));
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
      throw new ConfigError(`app.logGroup: log group "${o.logGroup}" does not exist in ${o.region}; check the workspace's app.logGroup`);
    }
    if (code === 'AccessDeniedException' || code === 'UnrecognizedClientException' || code === 'CredentialsProviderError') {
      throw new ConfigError(`cannot query log group "${o.logGroup}" in ${o.region} (${describeAwsError(err)}); the audit needs ${INSIGHTS_QUERY_ACTIONS.join(', ')} on it`);
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
        throw new InsightsQueryError(`Logs Insights query ${queryId} on "${o.logGroup}" ended with status ${out.status}`);
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

export async function countFallbackHitsInCloudWatch(o: InsightsOptions): Promise<FallbackCount> {
  const [counts] = await runInsightsQuery(o, COUNT_QUERY);
  const hits = counts ? Number(counts.hits ?? 0) : 0;
  if (!Number.isSafeInteger(hits) || hits < 0) throw new InsightsQueryError(`Logs Insights returned an unreadable count (${counts?.hits})`);
  const keys = hits > 0 ? (await runInsightsQuery(o, KEYS_QUERY)).map((r) => r[FALLBACK_HIT_FIELDS.key]).filter((k): k is string => Boolean(k)) : [];
  const distinct = counts ? Number(counts.distinctKeys) : NaN;
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
  };
}
