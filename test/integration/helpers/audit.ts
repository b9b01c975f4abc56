/** The audit of a test migration (its one checkpoint), as the CLI runs it, with fallback hits counted in a log file. */
import { openCheckpointSet } from '../../../migrator/src/audit/checkpoint-set';
import { fallbackCounter } from '../../../migrator/src/audit/fallback-hits';
import type { AuditReport } from '../../../migrator/src/audit/report';
import { runAudit, type AuditOptions } from '../../../migrator/src/audit/run-audit';
import type { TestMigration } from './own-buckets';

const DAY = 86_400_000;

/** Default window: the last 7 days; not deep. */
export async function auditMigration(
  m: TestMigration,
  logFile: string,
  opts: Partial<AuditOptions> = {},
): Promise<AuditReport> {
  const checkpoints = openCheckpointSet(m.ws, [m.checkpointFile]);
  try {
    const now = new Date();
    return await runAudit(
      {
        ws: m.ws,
        legacy: { client: m.legacy.s3, bucket: m.legacy.bucket, endpoint: m.legacy.endpoint.url },
        current: { client: m.primary.s3, bucket: m.primary.bucket, endpoint: m.primary.endpoint.url },
        checkpoints,
        codec: m.codec,
        countFallbackHits: fallbackCounter({ kind: 'file', location: logFile }, { timeoutMs: 1000 }),
      },
      {
        window: { start: new Date(now.getTime() - 7 * DAY), end: now },
        deep: false,
        concurrency: 8,
        deepConcurrency: 3,
        deepMemoryBytes: 8 * 1024 * 1024,
        maxListed: 100,
        ...opts,
      },
    );
  } finally {
    checkpoints.close();
  }
}
