/**
 * What the audit, the teardown gate and the legacy stack's synth must agree on: when an audit report's figures pass.
 * The audit writes its verdict from them (migrator/src/audit/report.ts); the gate derives it again to refuse a
 * hand-edited report (migrator/src/teardown/check-report.ts); synth derives it again for the report a teardown
 * approval names (stacks/approval.ts), which may not import the migrator. So the rule lives here, once, with the
 * schema of the fields it reads.
 *
 * The fallback evidence: zero fallback hits count only over a window the app's log covers. The store beats once a
 * minute per process (migrator/src/store/heartbeat.ts); each beat covers the period since the previous one. From the
 * beats the audit measures the coverage of its window: how many beats from how many processes, the time they cover,
 * their span (the first covered moment to the last) and the largest gap (time in the window no beat covers, the
 * window's start and end included). The evidence fails when there are no beats, when their span falls short of the
 * window by more than the allowed gap, or when a gap is longer than it (`--max-gap`, default 15 min).
 */
import { createHash } from 'crypto';
import { z } from 'zod';

export const AUDIT_TOOL = 'bucketmove audit';
/** 2: the fallback block carries the heartbeats' coverage (a report of format 1 proves nothing about its window). */
export const AUDIT_FORMAT_VERSION = 2;
/** The audit's and the gate's default `--max-gap`. */
export const DEFAULT_MAX_GAP_MS = 15 * 60_000;

/** The SHA-256 of a report file's bytes, as a teardown approval records it: "sha256:<64 hex>". */
export function reportSha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Problems: any one of them fails the audit. */
export const PROBLEM_KINDS = [
  /** In the legacy bucket, not in the new one. */
  'missing',
  /** The new object's size, its provenance and the checkpoint disagree on the plaintext size. */
  'size-mismatch',
  /** The plaintext SHA-256 disagrees: provenance vs checkpoint, or (deep) the bytes read vs what was recorded. */
  'hash-mismatch',
  /** The legacy object changed after it was copied: the copy is of an older version. */
  'source-changed',
  /** The migrator put the key in quarantine (a permanent failure a person must look at). */
  'quarantined',
  /** The migrator's attempts failed; its next run tries again. */
  'failed',
  /** Listed by the migrator but never attempted. */
  'pending',
  /** A legacy key the migrator's checkpoint does not know. */
  'not-in-checkpoint',
  /** A legacy object written after the last migration run started: someone still writes to the legacy bucket. */
  'legacy-written-after-migration',
  /**
   * The key could not be checked (HEAD or deep read failed after the SDK's retries, or the legacy bytes do not
   * decrypt).
   */
  'check-failed',
  /** A copy the migrator wrote and has not yet checked against the app's deletes (a run stopped in between). */
  'unrechecked-copy',
] as const;

/** Not problems: reported so a person sees them. */
export const NOTICE_KINDS = [
  /** The new bucket holds the app's own write of the key (no provenance): newer than legacy, kept as is. */
  'app-version',
  /**
   * Deleted from the legacy bucket after it was copied, still in the new one (the app's delete may not have finished).
   */
  'copy-without-legacy',
  /** The app deleted the photo (its tombstone holds the key in the new bucket), yet the legacy bucket still has it. */
  'deleted-by-app',
] as const;

/** "7d 0h", "5h 30m", "1m 4s", "45s": a duration for people. */
export function formatDurationMs(ms: number): string {
  const s = Math.round(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** 30240 -> "30,240". */
export const formatCount = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

const iso = z.iso.datetime({ offset: true });
const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative();

/** The heartbeats' coverage of the window, as measured (migrator/src/audit/coverage.ts) plus the limit applied. */
export const coverageSchema = z.object({
  /** Beats whose time falls in the window. */
  heartbeats: count,
  /** Distinct store instances (processes) among them. */
  processes: count,
  /** Beats by the store's mode; legacy-only beats are no evidence (that app reads legacy for everything). */
  byMode: z.record(z.string(), count),
  /** Time in the window at least one beat covers. */
  coveredSeconds: seconds,
  /** The first and last covered moments: the span of the evidence. */
  firstCoveredAt: iso.optional(),
  lastCoveredAt: iso.optional(),
  /** The longest time in the window no beat covers (the whole window when there is no beat). */
  largestGap: z.object({ seconds, start: iso, end: iso }),
  /** Fallback hits the beats counted, over the beats whose period lies wholly in the window. */
  fallbackHits: count,
  /** CloudWatch: the bins the beats were read in; a gap shorter than a bin may not show. */
  resolutionSeconds: z.number().positive().optional(),
  /** The longest gap allowed (`--max-gap`). */
  maxGapSeconds: z.number().positive(),
});

export type Coverage = z.output<typeof coverageSchema>;

export const fallbackSchema = z.object({
  source: z.object({ kind: z.enum(['cloudwatch', 'file']), location: z.string(), region: z.string().optional() }),
  event: z.string(),
  window: z.object({ start: iso, end: iso, seconds: z.number() }),
  hits: count,
  distinctKeys: count.optional(),
  firstHitAt: iso.optional(),
  lastHitAt: iso.optional(),
  sampleKeys: z.array(z.string()),
  lines: z.object({ read: count, untimedHits: count }).optional(),
  /** cloudwatch: the Logs Insights queries run (the count, and the heartbeats'), so a person can run them again. */
  query: z.string().optional(),
  coverageQuery: z.string().optional(),
  coverage: coverageSchema,
});

export const findingCountsSchema = z.record(z.enum([...PROBLEM_KINDS, ...NOTICE_KINDS]), count);

/**
 * What identifies a report and what its verdict reads; other fields may come along (the audit's full schema has them).
 */
export const auditVerdictSchema = z.looseObject({
  tool: z.literal(AUDIT_TOOL),
  formatVersion: z.literal(AUDIT_FORMAT_VERSION),
  env: z.string(),
  legacy: z.looseObject({ bucket: z.string(), account: z.string() }),
  startedAt: iso,
  finishedAt: iso,
  legacyListing: z.looseObject({ digest: z.string().regex(/^sha256:[0-9a-f]{64}$/), objects: count }),
  counts: z.looseObject({ legacyKeys: count, problemKeys: count, byKind: findingCountsSchema }),
  migrationProblems: z.array(z.string()),
  fallback: fallbackSchema,
  passed: z.boolean(),
  reasons: z.array(z.string()),
  summary: z.string(),
});

/** The figures the verdict is derived from. */
export type VerdictFigures = Pick<
  z.output<typeof auditVerdictSchema>,
  'migrationProblems' | 'counts' | 'fallback' | 'legacyListing'
>;

/**
 * `raw` as a report `schema` accepts, or why it is not one (the end of a sentence naming the file). A report of an
 * older format is named as such.
 */
export function parseReport<S extends z.ZodType>(
  raw: unknown,
  schema: S,
): { report: z.output<S> } | { problem: string } {
  const r = raw as { tool?: unknown; formatVersion?: unknown } | null;
  if (
    r &&
    typeof r === 'object' &&
    r.tool === AUDIT_TOOL &&
    typeof r.formatVersion === 'number' &&
    r.formatVersion < AUDIT_FORMAT_VERSION
  ) {
    return {
      problem: `is of format ${r.formatVersion}, from before the audit measured how much of its window the app's heartbeats cover; audit again with this version`,
    };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { report: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    problem: `is not a bucketmove audit report (${issue.path.map(String).join('.') || 'top level'}: ${issue.message})`,
  };
}

/** Beats that are evidence: a store in legacy-only mode serves everything from legacy, hits or not. */
const evidenceBeats = (c: Omit<Coverage, 'maxGapSeconds'>) => c.heartbeats - (c.byMode['legacy-only'] ?? 0);

/** "covered by 30,240 heartbeats from 3 processes, largest gap 1m 4s" */
export function coverageSummary(c: Omit<Coverage, 'maxGapSeconds'>): string {
  return `covered by ${plural(c.heartbeats, 'heartbeat')} from ${plural(c.processes, 'process', 'processes')}, largest gap ${formatDurationMs(c.largestGap.seconds * 1000)}`;
}

/**
 * Why the heartbeats do not show that the log covers the window, in one line naming the figures (undefined: they do).
 * `maxGapMs`: the longest gap allowed (the gate passes its own; the audit its `--max-gap`).
 */
export function coverageProblem(
  window: { start: string; end: string },
  c: Omit<Coverage, 'maxGapSeconds'>,
  maxGapMs: number,
): string | undefined {
  const windowMs = Date.parse(window.end) - Date.parse(window.start);
  const range = `${window.start} to ${window.end}`;
  if (evidenceBeats(c) === 0 || c.firstCoveredAt === undefined || c.lastCoveredAt === undefined) {
    return `no heartbeats from the photo store in the ${formatDurationMs(windowMs)} window (${range}): nothing shows the app ran and logged then, so 0 fallback hits prove nothing; check the log source, and that the app's store beats (PHOTO_STORE_HEARTBEAT_MS)`;
  }
  const spanMs = Date.parse(c.lastCoveredAt) - Date.parse(c.firstCoveredAt);
  const beats = `${plural(c.heartbeats, 'heartbeat')} from ${plural(c.processes, 'process', 'processes')}`;
  const gapMs = c.largestGap.seconds * 1000;
  if (spanMs < windowMs - maxGapMs) {
    return `the heartbeats span only ${formatDurationMs(spanMs)} of the ${formatDurationMs(windowMs)} window (${range}): ${beats}, from ${c.firstCoveredAt} to ${c.lastCoveredAt}, largest gap ${formatDurationMs(gapMs)} (allowed ${formatDurationMs(maxGapMs)}, --max-gap); audit a window the app's log covers`;
  }
  if (gapMs > maxGapMs) {
    return `the heartbeats leave a gap of ${formatDurationMs(gapMs)} (${c.largestGap.start} to ${c.largestGap.end}), longer than the ${formatDurationMs(maxGapMs)} allowed (--max-gap): ${beats} cover ${formatDurationMs(c.coveredSeconds * 1000)} of the ${formatDurationMs(windowMs)} window; no process beat (or its log was lost) then`;
  }
  return undefined;
}

/** Why the audit fails, from its figures alone (the gate and synth derive it again to catch a hand-edited verdict). */
export function failureReasons(r: VerdictFigures): string[] {
  const reasons: string[] = [...r.migrationProblems];
  const problemKinds = PROBLEM_KINDS.filter((k) => (r.counts.byKind[k] ?? 0) > 0);
  if (r.counts.problemKeys > 0 || problemKinds.length) {
    const detail = problemKinds.map((k) => `${k} ${r.counts.byKind[k]}`).join(', ');
    reasons.push(`${r.counts.problemKeys} key(s) with problems (${detail})`);
  }
  const f = r.fallback;
  const c = f.coverage;
  if (f.hits > 0) {
    reasons.push(
      `${f.hits} fallback hit(s) between ${f.window.start} and ${f.window.end}${f.lastHitAt ? ` (last at ${f.lastHitAt})` : ''}: the app still reads from the legacy bucket`,
    );
  }
  if (c.fallbackHits > f.hits) {
    reasons.push(
      `the heartbeats count ${c.fallbackHits} fallback hit(s) in the window, the log holds ${f.hits} fallback-hit line(s): the app still reads from the legacy bucket, and lines are missing from the log`,
    );
  }
  const legacyOnly = c.byMode['legacy-only'] ?? 0;
  if (legacyOnly > 0) {
    reasons.push(
      `${plural(legacyOnly, 'heartbeat')} in the window from a store in legacy-only mode: that app still reads and writes the legacy bucket`,
    );
  }
  const coverage = coverageProblem(f.window, c, c.maxGapSeconds * 1000);
  if (coverage) reasons.push(coverage);
  if (r.legacyListing.objects !== r.counts.legacyKeys)
    reasons.push('the legacy listing and the keys checked disagree in number');
  return reasons;
}
