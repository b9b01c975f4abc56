/**
 * The gate's checks of an audit report, before anything is listed or written:
 * - the report exists (the newest in the env's reports folder, or the one given) and is a bucketmove audit report;
 * - it is for this env, its legacy bucket and account, and its new bucket;
 * - it passed, and its own figures agree that it passed (a hand-edited verdict is refused);
 * - it is younger than the maximum age;
 * - it counted zero fallback hits over a window at least the minimum length, ending when the audit ran;
 * - the store's heartbeats cover that window: some beat, their span short of the window by at most the gap allowed,
 *   no gap longer than it (the gate's own --max-gap, whatever limit the audit was run with).
 */
import * as path from 'path';
import { coverageProblem } from '../../../workspaces/audit-verdict';
import type { LoadedWorkspace } from '../../../workspaces/load';
import {
  AuditReportError,
  failureReasons,
  newestAuditReport,
  readAuditReportFile,
  type AuditReport,
} from '../audit/report';
import { formatDurationMs } from '../audit/window';
import { reportsDir } from '../state-paths';
import { TeardownRefusal } from './refusal';

export interface GatePolicy {
  /** A report older than this is stale. */
  readonly maxAgeMs: number;
  /** The fallback-hit window must be at least this long. */
  readonly minWindowMs: number;
  /** The longest gap in the heartbeats' coverage of the window. */
  readonly maxGapMs: number;
  readonly now: Date;
}

/** Tolerated clock difference between the machine that audited and this one. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The report to use: the one given, else the newest audit report of the env. Refuses when there is none. */
export function locateReport(env: string, explicit?: string, stateRoot = '.'): string {
  if (explicit) return path.resolve(explicit);
  const dir = reportsDir(env, stateRoot);
  const newest = newestAuditReport(dir);
  if (!newest)
    throw new TeardownRefusal([
      `no audit report for ${env} in ${dir}; run \`npm run audit -- --env ${env}\` first (or pass --report)`,
    ]);
  return path.resolve(newest);
}

/** Reads the report; an unreadable or foreign file is a refusal. */
export function loadReport(file: string): AuditReport {
  return loadReportFile(file).report;
}

/** The same, with the SHA-256 of the bytes read: the approval binds exactly what the gate checked. */
export function loadReportFile(file: string): { report: AuditReport; sha256: string } {
  try {
    return readAuditReportFile(file);
  } catch (err) {
    if (err instanceof AuditReportError) throw new TeardownRefusal([err.message]);
    throw err;
  }
}

/** Every reason the report does not allow the teardown of this workspace's legacy stack (empty: it does). */
export function reportRefusals(report: AuditReport, ws: LoadedWorkspace, policy: GatePolicy): string[] {
  const reasons: string[] = [];
  if (report.env !== ws.env) reasons.push(`the audit report is for env "${report.env}", not "${ws.env}"`);
  if (report.legacy.bucket !== ws.legacy.bucket || report.legacy.account !== ws.legacy.accountId) {
    reasons.push(
      `the audit report is of legacy bucket ${report.legacy.bucket} (account ${report.legacy.account}), not ${ws.legacy.bucket} (account ${ws.legacy.accountId})`,
    );
  }
  if (report.primary.bucket !== ws.primary.bucket) {
    reasons.push(`the audit report compared against new bucket ${report.primary.bucket}, not ${ws.primary.bucket}`);
  }
  const figures = failureReasons(report);
  if (!report.passed) {
    reasons.push(`the audit failed: ${report.reasons.join('; ') || 'no reason recorded'}`);
  } else if (figures.length) {
    reasons.push(`the audit report says it passed, but its figures say otherwise (${figures.join('; ')}); audit again`);
  }
  const age = policy.now.getTime() - Date.parse(report.finishedAt);
  if (age < -CLOCK_SKEW_MS) {
    reasons.push(
      `the audit report finished at ${report.finishedAt}, in the future; check the clock of the machine that wrote it`,
    );
  } else if (age > policy.maxAgeMs) {
    reasons.push(
      `the audit report is stale: it finished ${formatDurationMs(age)} ago, more than the ${formatDurationMs(policy.maxAgeMs)} allowed (--max-age); audit again`,
    );
  }
  const f = report.fallback;
  if (f.hits > 0)
    reasons.push(
      `the audit counted ${f.hits} fallback hit(s) between ${f.window.start} and ${f.window.end}: the app still reads from the legacy bucket`,
    );
  const windowMs = Date.parse(f.window.end) - Date.parse(f.window.start);
  if (windowMs < policy.minWindowMs) {
    reasons.push(
      `the fallback-hit window is ${formatDurationMs(windowMs)}, shorter than the ${formatDurationMs(policy.minWindowMs)} required (--min-window); audit with a longer --since`,
    );
  }
  const coverage = coverageProblem(f.window, f.coverage, policy.maxGapMs);
  if (coverage) reasons.push(`the fallback evidence does not cover its window: ${coverage}`);
  if (Date.parse(f.window.end) < Date.parse(report.startedAt) - CLOCK_SKEW_MS) {
    reasons.push(
      `the fallback-hit window ends at ${f.window.end}, before the audit ran (${report.startedAt}): hits since then were not counted; audit again without --until`,
    );
  }
  return reasons;
}
