/** The migration's completion report: every listed key's outcome (Batch Operations CSV) and a JSON summary. */
import { csvLine, REPORT_COLUMNS, REPORT_FORMAT, type ReportRow } from '../report/batch-csv';
import { AtomicLineWriter, writeFileAtomic } from '../report/files';
import type { Checkpoint } from './checkpoint';
import type { ObjectRow } from '../objects/records';
import type { ObjectState } from '../objects/object-states';
import type { LargeObjectWrite } from './conditional-write-probe';
import type { RunResult } from './run';

const MESSAGES: Record<ObjectState, (r: ObjectRow) => string> = {
  copied: (r) => `Decrypted and copied (${r.plaintextSize ?? '?'} bytes, sha256 ${r.plaintextSha256 ?? '?'})`,
  'already-migrated': () => 'Already migrated by an earlier run (provenance matches this source version)',
  'kept-app-version': () => 'Kept: the app wrote this key in the new bucket; not overwritten',
  vanished: () => 'Gone from the legacy bucket before it was read (deleted by the app)',
  'deleted-during-copy': () =>
    'Deleted by the app during the copy; its tombstone refused the copy, or the copy was removed',
  quarantined: (r) => `Quarantined: ${r.errorMessage ?? 'permanent failure'}`,
  failed: (r) => `Failed after retries (the next run tries again): ${r.errorMessage ?? 'temporary failure'}`,
  pending: () => 'Not attempted yet (the run was stopped or limited)',
};

const STATUS: Partial<Record<ObjectState, number>> = {
  copied: 200,
  'already-migrated': 200,
  'kept-app-version': 412,
  vanished: 404,
  'deleted-during-copy': 404,
};

export function reportRow(legacyBucket: string, r: ObjectRow): ReportRow {
  const ok = r.state !== 'quarantined' && r.state !== 'failed' && r.state !== 'pending';
  return {
    bucket: legacyBucket,
    key: r.key,
    versionId: r.versionId,
    taskStatus: ok ? 'succeeded' : 'failed',
    errorCode: ok ? null : r.state === 'pending' ? 'NotAttempted' : r.errorCode,
    httpStatusCode: ok ? STATUS[r.state] : r.httpStatus,
    resultMessage: MESSAGES[r.state](r),
  };
}

export interface MigrationSummary {
  /** The CLI's run, or a Batch Operations job read back from its completion report. */
  readonly tool: 'bucketmove migrate' | 'bucketmove batch';
  readonly reportFormat: typeof REPORT_FORMAT;
  readonly reportColumns: readonly string[];
  readonly env: string;
  readonly legacyBucket: string;
  readonly newBucket: string;
  readonly prefix: string;
  /** The shard ("i/n") when the migration is split among n tasks. */
  readonly shard?: string;
  /** The key source when not a listing (a manifest, or a Batch Operations job). */
  readonly source?: string;
  /**
   * How objects above the part size were written, why, and the conditional-write probe behind it (the CLI's run; a
   * Batch Operations function probes in each container and logs it there).
   */
  readonly largeObjects?: LargeObjectWrite;
  readonly dryRun: boolean;
  readonly checkpoint: string;
  readonly run: RunResult;
  /** Keys not migrated nor legitimately kept (quarantined + failed + pending). */
  readonly notMigrated: number;
  readonly complete: boolean;
  readonly exitCode: number;
  readonly verdict: string;
}

/** Writes `<base>.csv` and `<base>.json` atomically; returns their paths. */
export function writeMigrationReport(
  base: string,
  checkpoint: Checkpoint,
  summary: MigrationSummary,
): { csv: string; json: string } {
  return writeMigrationReportOf(base, checkpoint.rows(), summary);
}

/** The same from rows in key order (e.g. the shards of a --workers run, merged), and extra JSON fields. */
export function writeMigrationReportOf(
  base: string,
  rows: Iterable<ObjectRow>,
  summary: MigrationSummary,
  extra: object = {},
): { csv: string; json: string } {
  const csv = `${base}.csv`;
  const json = `${base}.json`;
  const out = new AtomicLineWriter(csv);
  try {
    for (const row of rows) out.write(csvLine(reportRow(summary.legacyBucket, row)));
    out.commit();
  } catch (err) {
    out.abort();
    throw err;
  }
  writeFileAtomic(json, `${JSON.stringify({ ...summary, reportColumns: REPORT_COLUMNS, ...extra }, null, 2)}\n`);
  return { csv, json };
}

/** One line on how large objects were written and why, for the CLI's last lines. */
export function largeObjectsLine(l: LargeObjectWrite): string {
  const how =
    l.path === 'single-put'
      ? l.onePass
        ? 'one streamed PutObject with If-None-Match each, in SigV4 signed chunks where read once'
        : 'one streamed PutObject with If-None-Match each'
      : l.onePass
        ? 'read once, multipart uploads completed with If-None-Match and a full-object CRC32'
        : 'multipart uploads completed with If-None-Match';
  const left =
    l.probe && !l.probe.cleanedUp ? `; the probe left ${l.probe.key} behind (the audit leaves its prefix out)` : '';
  return `large objects (above the part size): ${how}, because ${l.why}${left}`;
}
