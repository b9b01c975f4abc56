/**
 * The teardown approval: the one input that lifts the safety interlock of a legacy stack.
 *
 * Without an approval, the legacy bucket, user and keys carry Terraform's `prevent_destroy`, so a bare
 * `cdktf destroy legacy-<env>` is refused by Terraform itself. With a valid approval for that env and bucket, the
 * interlock is lifted and the bucket gets `force_destroy` (so destroy can empty it).
 *
 * The approval is a small JSON file whose path is given at synth time (env var BUCKETMOVE_TEARDOWN_APPROVAL, or cdktf
 * context `teardownApproval`). The teardown gate writes it with `writeTeardownApproval`; synth reads it with
 * `readTeardownApproval` and checks it with `checkTeardownApproval` and `checkApprovedReport`. Format:
 *
 *   {
 *     "env": "prod",                                   // the workspace it approves
 *     "legacyBucket": "chatapp-legacy-photos",         // must equal that workspace's legacy.bucket
 *     "approvedAt": "2025-01-01T10:00:00Z",            // ISO 8601 with offset
 *     "expiresAt": "2025-01-02T10:00:00Z",             // after approvedAt, at most MAX_APPROVAL_VALIDITY_HOURS later
 *     "approvedBy": "jane@example.com",                // optional
 *     "auditReport": {
 *       "path": "../reports/audit-20250101T093000.000Z.json",  // relative to the approval file's folder, or absolute
 *       "sha256": "sha256:<64 hex>",                   // of the report file's bytes
 *       "listingDigest": "sha256:<64 hex>"             // the report's legacyListing.digest
 *     }
 *   }
 *
 * An approval is bound to its evidence: synth reads the report again and refuses (one line) an approval whose report
 * is missing, hashes differently, is not a passing audit report (its verdict derived again from its figures, by the
 * rule the audit and the gate use: workspaces/audit-verdict.ts, since the stacks may not import the migrator), is of
 * another env, bucket or listing, or finished after the approval or more than MAX_REPORT_AGE_HOURS before it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { auditVerdictSchema, failureReasons, parseReport, reportSha256 } from '../workspaces/audit-verdict';
import { displayPath, valueAt } from '../workspaces/load';
import { ConfigError } from '../workspaces/errors';
import { bucketNameProblem, ENV_NAME } from '../workspaces/schema';

/** An approval is evidence of one audit: it must be used soon after, not kept around. */
export const MAX_APPROVAL_VALIDITY_HOURS = 7 * 24;
/** Tolerated clock difference between the machine that wrote the approval and the one that synthesizes. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
/**
 * The oldest audit report an approval may name: it finished at most this long before the approval (the gate's --max-age
 * is capped to it).
 */
export const MAX_REPORT_AGE_HOURS = 7 * 24;

const SHA256 = /^sha256:[0-9a-f]{64}$/;
const SHA256_MESSAGE = 'must be "sha256:" followed by 64 lowercase hex digits';
const isoTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as "2025-01-31T12:00:00Z"' });

export const teardownApprovalSchema = z
  .strictObject({
    env: z.string().regex(ENV_NAME, 'must be a lowercase env name such as "prod"'),
    legacyBucket: z.string().superRefine((name, ctx) => {
      const problem = bucketNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', message: `"${name}" is not a valid bucket name: it ${problem}` });
    }),
    approvedAt: isoTime,
    expiresAt: isoTime,
    approvedBy: z.string().min(1, 'must not be empty').optional(),
    auditReport: z.strictObject({
      path: z.string().min(1, 'must name the audit report file'),
      sha256: z.string().regex(SHA256, SHA256_MESSAGE),
      listingDigest: z.string().regex(SHA256, SHA256_MESSAGE),
    }),
  })
  .superRefine((a, ctx) => {
    const approved = Date.parse(a.approvedAt);
    const expires = Date.parse(a.expiresAt);
    if (!(expires > approved)) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'must be later than approvedAt' });
    } else if (expires - approved > MAX_APPROVAL_VALIDITY_HOURS * 3600 * 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: `must be at most ${MAX_APPROVAL_VALIDITY_HOURS} hours after approvedAt`,
      });
    }
  });

export type TeardownApproval = z.output<typeof teardownApprovalSchema>;

/** Validates an approval object (as the gate builds it) and returns it; a problem is a one-line ConfigError. */
export function parseTeardownApproval(raw: unknown, where: string): TeardownApproval {
  const parsed = teardownApprovalSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.map(String).join('.') || '(top level)';
    const missing = issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined;
    const what =
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove ${issue.keys.length > 1 ? 'them' : 'it'}`
        : `${field}: ${missing ? 'is missing' : issue.message}`;
    throw new ConfigError(`teardown approval ${where}: ${what}`);
  }
  return parsed.data;
}

/** Reads and validates an approval file. */
export function readTeardownApproval(file: string): TeardownApproval {
  const where = displayPath(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `teardown approval ${where}: cannot be read (${code ?? (err as Error).message}); check the path`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`teardown approval ${where}: not valid JSON (${(err as Error).message})`);
  }
  return parseTeardownApproval(raw, where);
}

/**
 * Writes an approval file atomically (a temp file in the same folder, then rename), after validating it, so a reader
 * never sees a half-written approval. Returns the validated approval.
 */
export function writeTeardownApproval(file: string, approval: TeardownApproval): TeardownApproval {
  const valid = parseTeardownApproval(approval, displayPath(file));
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(valid, null, 2)}\n`, { flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return valid;
}

/**
 * Checks that an approval lifts the interlock of exactly this workspace's legacy stack at time `now`:
 * same env, same legacy bucket, already approved (within clock skew) and not expired.
 */
export function checkTeardownApproval(
  approval: TeardownApproval,
  target: { env: string; legacyBucket: string },
  now: Date,
  where = 'file',
): void {
  const prefix = `teardown approval ${where}`;
  if (approval.env !== target.env) {
    throw new ConfigError(
      `${prefix}: env: is "${approval.env}", but it is being applied to "${target.env}"; use an approval for "${target.env}"`,
    );
  }
  if (approval.legacyBucket !== target.legacyBucket) {
    throw new ConfigError(
      `${prefix}: legacyBucket: is "${approval.legacyBucket}", but workspace "${target.env}" has legacy bucket "${target.legacyBucket}"`,
    );
  }
  if (Date.parse(approval.approvedAt) - CLOCK_SKEW_MS > now.getTime()) {
    throw new ConfigError(
      `${prefix}: approvedAt: ${approval.approvedAt} is in the future; check the clock of the machine that wrote it`,
    );
  }
  if (Date.parse(approval.expiresAt) <= now.getTime()) {
    throw new ConfigError(
      `${prefix}: expiresAt: expired at ${approval.expiresAt}; run the audit again for a fresh approval`,
    );
  }
}

/** The audit report an approval names: its path resolves against the approval file's folder (an absolute one stays). */
export function approvedReportPath(approval: TeardownApproval, approvalFile: string): string {
  return path.resolve(path.dirname(path.resolve(approvalFile)), approval.auditReport.path);
}

/**
 * Checks that the approval's evidence still stands: the report it names exists, hashes as approved, is a passing audit
 * report (its verdict derived again from its figures) of this env, bucket and listing, and finished before the
 * approval, at most MAX_REPORT_AGE_HOURS before. A problem is a one-line ConfigError. Returns the report's path.
 */
export function checkApprovedReport(approval: TeardownApproval, approvalFile: string): string {
  const prefix = `teardown approval ${displayPath(approvalFile)}`;
  const file = approvedReportPath(approval, approvalFile);
  const shown = displayPath(file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(
      `${prefix}: auditReport.path: the audit report ${shown} cannot be read (${code}); an approval must name the report the teardown gate approved: run the gate again`,
    );
  }
  const sha = reportSha256(bytes);
  if (sha !== approval.auditReport.sha256) {
    throw new ConfigError(
      `${prefix}: auditReport.sha256: the audit report ${shown} hashes to ${sha}, not the approved ${approval.auditReport.sha256}: it changed since the approval, or is another file; run the gate again`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ConfigError(`${prefix}: the audit report ${shown} is not valid JSON (${(err as Error).message})`);
  }
  const parsed = parseReport(raw, auditVerdictSchema);
  if ('problem' in parsed) throw new ConfigError(`${prefix}: the audit report ${shown} ${parsed.problem}`);
  const report = parsed.report;
  const figures = failureReasons(report);
  if (!report.passed)
    throw new ConfigError(
      `${prefix}: the audit report ${shown} failed (${report.reasons.join('; ') || 'no reason recorded'}); audit again`,
    );
  if (figures.length)
    throw new ConfigError(
      `${prefix}: the audit report ${shown} says it passed, but its figures say otherwise (${figures.join('; ')}); audit again`,
    );
  if (report.env !== approval.env || report.legacy.bucket !== approval.legacyBucket) {
    throw new ConfigError(
      `${prefix}: the audit report ${shown} is of env "${report.env}", legacy bucket ${report.legacy.bucket}, not of the approved "${approval.env}", ${approval.legacyBucket}`,
    );
  }
  if (report.legacyListing.digest !== approval.auditReport.listingDigest) {
    throw new ConfigError(
      `${prefix}: auditReport.listingDigest: ${approval.auditReport.listingDigest} is not the digest of the report's legacy listing (${report.legacyListing.digest})`,
    );
  }
  const finished = Date.parse(report.finishedAt);
  const approved = Date.parse(approval.approvedAt);
  if (finished > approved + CLOCK_SKEW_MS) {
    throw new ConfigError(
      `${prefix}: the audit report ${shown} finished at ${report.finishedAt}, after the approval (${approval.approvedAt}): the approval cannot be of it`,
    );
  }
  if (approved - finished > MAX_REPORT_AGE_HOURS * 3600 * 1000) {
    throw new ConfigError(
      `${prefix}: the audit report ${shown} is stale: it finished at ${report.finishedAt}, more than ${MAX_REPORT_AGE_HOURS / 24} days before the approval (${approval.approvedAt}); audit again`,
    );
  }
  return file;
}
