/**
 * The audit report: a JSON file (the record the teardown gate reads, schema below) and a Markdown summary a person
 * reads, both written atomically (a temp sibling, then rename), so a reader never sees half a report.
 *
 * Default location: .bucketmove/<env>/reports/audit-<UTC time>.json and .md; the gate takes the newest.
 */
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import {
  AUDIT_FORMAT_VERSION,
  AUDIT_TOOL,
  coverageSummary,
  failureReasons,
  fallbackSchema,
  findingCountsSchema,
  formatDurationMs,
  parseReport,
  reportSha256,
} from '../../../workspaces/audit-verdict';
import { ALL_STATES } from '../objects/object-states';
import { writeFileAtomic } from '../report/files';
import { NOTICE_KINDS, PROBLEM_KINDS } from './findings';
import { renderMarkdown } from './markdown';

// The verdict rule and the schema of the fields it reads are shared with the gate and the stacks.
export { AUDIT_FORMAT_VERSION, AUDIT_TOOL, failureReasons };

const iso = z.iso.datetime({ offset: true });
const count = z.number().int().nonnegative();
const finding = z.object({ key: z.string(), kind: z.enum([...PROBLEM_KINDS, ...NOTICE_KINDS]), message: z.string() });
const side = z.object({ bucket: z.string(), account: z.string(), endpoint: z.string().nullable() });
const lastRun = z
  .object({ id: count, startedAt: z.string(), finishedAt: z.string().nullable(), outcome: z.string().nullable() })
  .nullable();
const states = z.record(z.enum(ALL_STATES as [string, ...string[]]), count);

export const auditReportSchema = z.object({
  tool: z.literal(AUDIT_TOOL),
  formatVersion: z.literal(AUDIT_FORMAT_VERSION),
  env: z.string(),
  target: z.enum(['aws', 's3-compatible']),
  legacy: side,
  primary: side,
  startedAt: iso,
  finishedAt: iso,
  seconds: z.number().nonnegative(),
  options: z.object({
    deep: z.boolean(),
    sample: count.nullable(),
    sampleSeed: z.string().nullable(),
    concurrency: count,
  }),
  /**
   * The migrator's checkpoint; for a migration run as n tasks (`migrate --shard i/n`), the n shards' together: `path`
   * lists their files, `runs` and `states` are sums, `listingComplete` holds when every shard's does, `lastRun` is the
   * one that started last, and `shards` has each shard's own figures.
   */
  checkpoint: z.object({
    path: z.string(),
    prefix: z.string(),
    listingComplete: z.boolean(),
    runs: count,
    lastRun,
    states,
    /** The key source, when it was not a listing of the legacy bucket (a manifest). */
    source: z.string().optional(),
    shards: z
      .array(
        z.object({
          shard: z.string().regex(/^\d+\/\d+$/),
          path: z.string(),
          listingComplete: z.boolean(),
          runs: count,
          lastRun,
          states,
        }),
      )
      .optional(),
  }),
  legacyListing: z.object({
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    algorithm: z.string(),
    objects: count,
    bytes: count,
  }),
  /**
   * The new bucket's keys the audit took in. `notAudited`: keys it left out because they are not photos (the S3
   * Batch Operations jobs' manifests and completion reports under their prefix, when Batch Operations is enabled).
   * `probeLeftovers`, only when there are any: keys of the migrator's conditional-write probe that a killed run left
   * under its reserved prefix (migrate/conditional-write-probe.ts), left out too; the next run sweeps them.
   */
  newListing: z.object({
    objects: count,
    bytes: count,
    notAudited: z.object({ prefix: z.string(), why: z.string(), objects: count, bytes: count }).optional(),
    probeLeftovers: z.object({ prefix: z.string(), objects: count, bytes: count }).optional(),
  }),
  counts: z.object({
    legacyKeys: count,
    verified: count,
    appVersion: count,
    problemKeys: count,
    onlyInNew: count,
    checkpointOnly: count,
    deepCompared: count,
    byKind: findingCountsSchema,
  }),
  problems: z.object({ total: count, cap: count, listed: z.array(finding) }),
  notices: z.object({ total: count, cap: count, listed: z.array(finding) }),
  /** Problems of the whole migration rather than of a key (the checkpoint's listing or last run). */
  migrationProblems: z.array(z.string()),
  /** The fallback hits counted in the window, and how much of the window the app's heartbeats cover. */
  fallback: fallbackSchema,
  passed: z.boolean(),
  reasons: z.array(z.string()),
  summary: z.string(),
});

export type AuditReport = z.output<typeof auditReportSchema>;
export type AuditFacts = Omit<AuditReport, 'passed' | 'reasons' | 'summary'>;

export function withVerdict(facts: AuditFacts): AuditReport {
  const reasons = failureReasons(facts);
  const passed = reasons.length === 0;
  const what = facts.checkpoint.shards ? `${facts.env} (${facts.checkpoint.shards.length} shards)` : facts.env;
  const summary = passed
    ? `audit of ${what} PASSED: ${facts.counts.legacyKeys} legacy keys (${facts.counts.verified} verified copies, ${facts.counts.appVersion} kept as the app wrote them), 0 fallback hits in ${formatDurationMs(facts.fallback.window.seconds * 1000)}, ${coverageSummary(facts.fallback.coverage)}`
    : `audit of ${what} FAILED: ${reasons.join('; ')}`;
  return { ...facts, passed, reasons, summary };
}

/** Writes `<base>.json` and `<base>.md`; JSON last, so the gate never finds a JSON without its summary. */
export function writeAuditReport(base: string, report: AuditReport): { json: string; markdown: string } {
  const json = `${base}.json`;
  const markdown = `${base}.md`;
  writeFileAtomic(markdown, renderMarkdown(report, path.basename(json)));
  writeFileAtomic(json, `${JSON.stringify(report, null, 2)}\n`);
  return { json, markdown };
}

export class AuditReportError extends Error {
  override readonly name = 'AuditReportError';
}

/** Reads and validates a report file; a problem is an AuditReportError with one line. */
export function readAuditReport(file: string): AuditReport {
  return readAuditReportFile(file).report;
}

/** The same, with the SHA-256 of the very bytes read (what a teardown approval records). */
export function readAuditReportFile(file: string): { report: AuditReport; sha256: string } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new AuditReportError(
      `audit report ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new AuditReportError(`audit report ${file} is not valid JSON (${(err as Error).message})`);
  }
  const parsed = parseReport(raw, auditReportSchema);
  if ('problem' in parsed) throw new AuditReportError(`audit report ${file} ${parsed.problem}`);
  return { report: parsed.report, sha256: reportSha256(bytes) };
}

const AUDIT_NAME = /^audit-\d{8}T\d{6}\.\d{3}Z\.json$/;

/** `audit-20261126T044512.123Z`: the default report name (without extension), sortable by time. */
export function auditReportName(d = new Date()): string {
  return `audit-${d.toISOString().replace(/[-:]/g, '')}`;
}

/** The newest `audit-*.json` in a folder (names carry a sortable UTC time), or undefined. */
export function newestAuditReport(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const names = fs
    .readdirSync(dir)
    .filter((n) => AUDIT_NAME.test(n))
    .sort();
  return names.length ? path.join(dir, names[names.length - 1]) : undefined;
}
