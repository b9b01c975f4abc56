/**
 * The approval the gate writes when every check passed (format, writer and synth-time checks: stacks/approval.ts):
 * this env and legacy bucket, valid from now for `validMs`, naming the audit report (its path relative to the
 * approval's folder, as synth resolves it), the SHA-256 of the report's bytes the gate checked, and its listing digest.
 */
import * as os from 'os';
import * as path from 'path';
import type { LoadedWorkspace } from '../../../workspaces/load';
import { MAX_APPROVAL_VALIDITY_HOURS, writeTeardownApproval, type TeardownApproval } from '../../../stacks/approval';
import { UsageError } from '../../../workspaces/errors';
import type { AuditReport } from '../audit/report';

export function defaultApprover(): string {
  try {
    return `${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return `uid-${process.getuid?.() ?? 'unknown'}@${os.hostname()}`;
  }
}

export function buildApproval(args: {
  ws: LoadedWorkspace;
  report: AuditReport;
  reportPath: string;
  /** The SHA-256 of the report file's bytes the gate read and checked ("sha256:<hex>"). */
  reportSha256: string;
  /** Where the approval is written: the report's path is recorded relative to its folder. */
  approvalFile: string;
  now: Date;
  validMs: number;
  approvedBy: string;
}): TeardownApproval {
  if (args.validMs > MAX_APPROVAL_VALIDITY_HOURS * 3600 * 1000) {
    throw new UsageError(`an approval may be valid for at most ${MAX_APPROVAL_VALIDITY_HOURS} hours`);
  }
  // Whole seconds: the approval's ISO times stay readable and round-trip exactly.
  const approvedAt = new Date(Math.floor(args.now.getTime() / 1000) * 1000);
  return {
    env: args.ws.env,
    legacyBucket: args.ws.legacy.bucket,
    approvedAt: approvedAt.toISOString(),
    expiresAt: new Date(approvedAt.getTime() + args.validMs).toISOString(),
    approvedBy: args.approvedBy,
    auditReport: {
      path: path.relative(path.dirname(path.resolve(args.approvalFile)), path.resolve(args.reportPath)),
      sha256: args.reportSha256,
      listingDigest: args.report.legacyListing.digest,
    },
  };
}

export function writeApproval(file: string, approval: TeardownApproval): TeardownApproval {
  return writeTeardownApproval(file, approval);
}
