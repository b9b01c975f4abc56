/**
 * A fake CloudWatch Logs client for the audit's Logs Insights queries: StartQuery, GetQueryResults and StopQuery
 * answered as the service does. Each query runs `polls` rounds (Scheduled, Running) before it ends with `status`
 * (default Complete) and `results`; a query is answered by its exact text, the heartbeats' query (any window) by
 * `answers[HEARTBEATS]`, and anything else with no rows.
 */
import { GetQueryResultsCommand, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { LogsClient } from '../../migrator/src/audit/fallback-cloudwatch';

export type Row = { field: string; value: string }[];

export interface Answer {
  readonly status?: string;
  readonly polls?: number;
  /** The rows, or a function of the query's text (the heartbeats' query names its window). */
  readonly results?: Row[] | ((query: string) => Row[]);
}

/** The key of the answer to the heartbeats' query. */
export const HEARTBEATS = 'heartbeats';

export const row = (fields: Record<string, string>): Row =>
  Object.entries(fields).map(([field, value]) => ({ field, value }));

export function fakeLogs(answers: { [query: string]: Answer }, startError?: Error) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const polls = new Map<string, number>();
  const answerTo = (q: string): Answer =>
    answers[q] ?? (q.includes('"store.heartbeat"') ? answers[HEARTBEATS] : undefined) ?? {};
  const client: LogsClient = {
    send: (async (cmd: { input: Record<string, unknown> }) => {
      const name = cmd.constructor.name;
      calls.push({ name, input: cmd.input });
      if (cmd instanceof StartQueryCommand) {
        if (startError) throw startError;
        return { queryId: `q-${String(cmd.input.queryString)}` };
      }
      if (cmd instanceof GetQueryResultsCommand) {
        const q = String(cmd.input.queryId).slice(2);
        const a = answerTo(q);
        const n = (polls.get(q) ?? 0) + 1;
        polls.set(q, n);
        if (n <= (a.polls ?? 0)) return { status: n === 1 ? 'Scheduled' : 'Running', results: [] };
        return {
          status: a.status ?? 'Complete',
          results: typeof a.results === 'function' ? a.results(q) : (a.results ?? []),
        };
      }
      if (cmd instanceof StopQueryCommand) return { success: true };
      throw new Error(`unexpected ${name}`);
    }) as LogsClient['send'],
  };
  return { client, calls };
}
