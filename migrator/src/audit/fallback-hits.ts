/**
 * Where the audit counts fallback hits: `--fallback-log <file>` if given, else the workspace's `app.logGroup`
 * (CloudWatch Logs Insights), else its `app.localLogFile` (relative paths from the working folder). With none of
 * them the audit cannot show that the fallback is dead, so it refuses to run.
 */
import * as fs from 'fs';
import * as path from 'path';
import { type LoadedWorkspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { countFallbackHitsInCloudWatch, createLogsClient, type LogsClient } from './fallback-cloudwatch';
import type { FallbackCount, FallbackSource } from './fallback-count';
import { countFallbackHitsInFile } from './fallback-log-file';
import type { TimeWindow } from './window';

export function resolveFallbackSource(ws: LoadedWorkspace, fallbackLog?: string): FallbackSource {
  const file = (f: string, where: string): FallbackSource => {
    const location = path.resolve(f);
    if (!fs.existsSync(location)) {
      throw new ConfigError(
        `${where}: the fallback log ${f} does not exist; give the app's JSON-lines log (or set app.logGroup for CloudWatch)`,
      );
    }
    return { kind: 'file', location };
  };
  if (fallbackLog) return file(fallbackLog, '--fallback-log');
  if (ws.app.logGroup) return { kind: 'cloudwatch', location: ws.app.logGroup, region: ws.region };
  if (ws.app.localLogFile) return file(ws.app.localLogFile, `${path.basename(ws.file)}: app.localLogFile`);
  throw new ConfigError(
    `${path.basename(ws.file)}: app: names no log of the store's fallback hits; set app.logGroup (CloudWatch) or app.localLogFile, or pass --fallback-log <file>`,
  );
}

export interface FallbackCounterOptions {
  /** Logs Insights: the bound on each query's wait. */
  readonly timeoutMs: number;
  readonly pollMs?: number;
  /** Logs Insights: the time bin the heartbeats are read in (coverageBinMs of the longest gap allowed). */
  readonly binMs?: number;
  /** A CloudWatch Logs client (tests inject one); default: the SDK's for the source's region. */
  readonly logsClient?: LogsClient;
  readonly signal?: AbortSignal;
}

export function fallbackCounter(
  source: FallbackSource,
  o: FallbackCounterOptions,
): (window: TimeWindow) => Promise<FallbackCount> {
  if (source.kind === 'file') return (window) => countFallbackHitsInFile(source.location, window);
  return async (window) => {
    const client = o.logsClient ?? createLogsClient(source.region!);
    try {
      return await countFallbackHitsInCloudWatch({
        client,
        logGroup: source.location,
        region: source.region!,
        window,
        timeoutMs: o.timeoutMs,
        pollMs: o.pollMs,
        binMs: o.binMs,
        signal: o.signal,
      });
    } finally {
      if (!o.logsClient && 'destroy' in client) (client as { destroy(): void }).destroy();
    }
  };
}
