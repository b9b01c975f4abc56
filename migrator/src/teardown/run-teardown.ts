/**
 * The teardown gate, start to end:
 *   1. the audit report: found, this env's, passed, fresh enough, zero fallback hits over a long enough window that
 *      the store's heartbeats cover;
 *   2. the legacy bucket listed again: its digest still the audit's;
 *   3. (not in a dry run) the operator confirms;
 *   4. the approval written (stacks/approval.ts), naming the report, the SHA-256 of its bytes and the digest;
 *   5. the legacy stack synthesized with the approval, and checked to carry it;
 *   6. the Terraform steps: deploy with the approval, then destroy (a dry run: init + plan -destroy);
 *   7. what is left for people, printed; a record of the teardown written next to the reports.
 * A refusal (steps 1-2) is a TeardownRefusal with every reason; nothing is written before step 4.
 * An interruption (deps.signal: Ctrl-C, SIGTERM) stops the gate at the next boundary: before the confirmation, before
 * the approval is written, or before the next Terraform step (the running one stops by itself on Ctrl-C, which the
 * terminal sent it too, or finishes); status 'interrupted', and the record says which steps ran.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { coverageSummary } from '../../../workspaces/audit-verdict';
import { type LoadedWorkspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import type { TeardownApproval } from '../../../stacks/approval';
import type { DigestedObject } from '../audit/listing-digest';
import { writeFileAtomic } from '../report/files';
import { reportsDir, teardownDir } from '../state-paths';
import { remainingWork } from './after-teardown';
import { buildApproval, writeApproval } from './approve';
import { loadReportFile, locateReport, reportRefusals } from './check-report';
import { dryRunSteps, teardownSteps } from './destroy-legacy';
import { TeardownRefusal } from './refusal';
import { synthApprovedLegacyStack, type SynthResult } from './synth-legacy';
import { commandLine, type Step, type StepRunner } from './terraform-runner';
import { cloudBackendHint } from '../../../stacks/backend';
import { listingRefusals } from './verify-listing';

export interface TeardownDeps {
  readonly ws: LoadedWorkspace;
  /** The folder the workspace files came from (synth loads the workspace again from it). */
  readonly workspacesDir?: string;
  /** The legacy bucket's listing, in order (the gate's digest). */
  readonly listLegacy: () => AsyncIterable<DigestedObject>;
  readonly runner: StepRunner;
  /** Asked once every check passed, before anything is written (not in a dry run). */
  readonly confirm?: (what: string) => Promise<boolean>;
  /** Lines for people (stdout). */
  readonly out: (line: string) => void;
  readonly now?: () => Date;
  /** Where the synth reads BUCKETMOVE_BACKEND and the cdktf context from (tests pin them). */
  readonly processEnv?: NodeJS.ProcessEnv;
  readonly context?: Record<string, unknown>;
  /** Aborted when the operator interrupts (Ctrl-C, SIGTERM): the gate stops at the next boundary. */
  readonly signal?: AbortSignal;
}

export interface TeardownOptions {
  /** The audit report; default: the newest in .bucketmove/<env>/reports. */
  readonly reportPath?: string;
  readonly maxAgeMs: number;
  readonly minWindowMs: number;
  /** The longest gap allowed in the heartbeats' coverage of the window. */
  readonly maxGapMs: number;
  readonly dryRun: boolean;
  /** Default: .bucketmove/<env>/teardown/approval.json (a dry run uses a temp file and removes it). */
  readonly approvalFile?: string;
  /** The synthesized output; default .bucketmove/<env>/teardown/cdktf.out (a dry run: a temp folder, removed). */
  readonly outdir?: string;
  readonly approvalValidMs: number;
  readonly approvedBy: string;
  /** Where cdktf runs (the folder of cdktf.json); default the working folder. */
  readonly cwd?: string;
  /**
   * The folder `.bucketmove/<env>/` lives under (reports, approval, synthesized stacks, the record); default the
   * working folder.
   */
  readonly stateRoot?: string;
}

export interface TeardownResult {
  readonly status: 'destroyed' | 'dry-run' | 'failed' | 'declined' | 'interrupted';
  readonly reportPath: string;
  readonly listingDigest: string;
  readonly approval?: TeardownApproval;
  readonly approvalFile?: string;
  readonly synth?: SynthResult;
  readonly steps: { readonly step: Step; readonly code: number }[];
  readonly record?: string;
}

export async function runTeardown(deps: TeardownDeps, opts: TeardownOptions): Promise<TeardownResult> {
  const { ws, out } = deps;
  const now = deps.now?.() ?? new Date();
  const interrupted = () => deps.signal?.aborted ?? false;
  const cwd = opts.cwd ?? process.cwd();
  if (ws.target !== 'aws' && !opts.dryRun) {
    throw new ConfigError(
      `env "${ws.env}" has target "${ws.target}": it has no legacy stack to destroy (stacks exist for target "aws" only); --dry-run still checks the evidence`,
    );
  }

  // 1-2: the evidence.
  const root = opts.stateRoot ?? '.';
  const reportPath = locateReport(ws.env, opts.reportPath, root);
  const { report, sha256: reportSha256 } = loadReportFile(reportPath);
  const reasons = reportRefusals(report, ws, {
    maxAgeMs: opts.maxAgeMs,
    minWindowMs: opts.minWindowMs,
    maxGapMs: opts.maxGapMs,
    now,
  });
  if (reasons.length) throw new TeardownRefusal(reasons);
  out(
    `audit report ${path.relative(cwd, reportPath) || reportPath}: passed at ${report.finishedAt}, ${report.counts.legacyKeys} legacy keys, 0 fallback hits from ${report.fallback.window.start} to ${report.fallback.window.end}, ${coverageSummary(report.fallback.coverage)}`,
  );
  const listing = await listingRefusals(report, deps.listLegacy());
  if (listing.reasons.length) throw new TeardownRefusal(listing.reasons);
  out(`legacy bucket ${ws.legacy.bucket}: unchanged since the audit (${listing.objects} objects, ${listing.digest})`);

  // 3: the operator.
  const stack = `legacy-${ws.env}`;
  if (ws.target !== 'aws') {
    // An S3-compatible target (the local rig) has no Terraform stack, so no legacy-<env> of its own to name: the
    // evidence is all a dry run can check; what would follow on AWS is said in general terms.
    out(
      [
        `dry run: the evidence passes. Env "${ws.env}" has target "${ws.target}": it has no Terraform stack (stacks exist for target "aws" only), so there is nothing to synthesize, plan or destroy here.`,
        'For a target "aws" env the gate would now write the approval, synthesize legacy-<env> with it, and run cdktf deploy then cdktf destroy legacy-<env> (that env\'s --dry-run plans it and prints the commands).',
        'Then, for people:',
        ...remainingWork(ws).map((w, i) => `  ${i + 1}. ${w}`),
      ].join('\n'),
    );
    return { status: 'dry-run', reportPath, listingDigest: listing.digest, steps: [] };
  }
  if (!opts.dryRun && deps.confirm && !interrupted()) {
    const ok = await deps.confirm(
      `destroy ${stack}: the legacy bucket ${ws.legacy.bucket} with its ${listing.objects} objects, the legacy user ${ws.legacy.appUser.name} and its access keys, and the reader role`,
    );
    if (!ok && !interrupted()) {
      out('not confirmed: nothing was written or changed');
      return { status: 'declined', reportPath, listingDigest: listing.digest, steps: [] };
    }
  }
  if (interrupted()) {
    out('interrupted: nothing was written or changed');
    return { status: 'interrupted', reportPath, listingDigest: listing.digest, steps: [] };
  }

  // 4-5: the approval and the approved stack.
  const realApproval = path.resolve(opts.approvalFile ?? path.join(teardownDir(ws.env, root), 'approval.json'));
  const realOutdir = path.resolve(opts.outdir ?? path.join(teardownDir(ws.env, root), 'cdktf.out'));
  const scratch = opts.dryRun ? fs.mkdtempSync(path.join(os.tmpdir(), `bucketmove-teardown-${ws.env}-`)) : undefined;
  const approvalFile = scratch ? path.join(scratch, 'approval.json') : realApproval;
  const outdir = scratch && !opts.outdir ? path.join(scratch, 'cdktf.out') : realOutdir;
  const steps: { step: Step; code: number }[] = [];
  try {
    const approval = writeApproval(
      approvalFile,
      buildApproval({
        ws,
        report,
        reportPath,
        reportSha256,
        approvalFile,
        now,
        validMs: opts.approvalValidMs,
        approvedBy: opts.approvedBy,
      }),
    );
    if (!scratch) out(`approval written: ${path.relative(cwd, approvalFile)} (valid until ${approval.expiresAt})`);
    const synth = synthApprovedLegacyStack({
      env: ws.env,
      approvalFile,
      outdir,
      workspacesDir: deps.workspacesDir,
      now,
      processEnv: deps.processEnv,
      context: deps.context,
    });
    out(
      `synthesized ${stack} with the teardown approved (no prevent_destroy, force_destroy on; backend ${synth.backend}) into ${path.relative(cwd, synth.stackDir) || synth.stackDir}`,
    );

    // 6: Terraform.
    const plan = opts.dryRun
      ? dryRunSteps({ env: ws.env, stackDir: synth.stackDir })
      : teardownSteps({ env: ws.env, outdir, approvalFile, cwd });
    let failed: { step: Step; code: number } | undefined;
    for (const [i, step] of plan.entries()) {
      if (interrupted()) break;
      out(`step ${i + 1}/${plan.length}: ${step.title}\n  $ ${commandLine(step)}`);
      const { code } = await deps.runner(step);
      steps.push({ step, code });
      if (code !== 0) {
        failed = { step, code };
        break;
      }
    }

    // Stopped by the operator: during a step that then failed (Ctrl-C reaches Terraform too), or before the next one.
    const stopped = interrupted() && (failed !== undefined || steps.length < plan.length);
    /** The gate's result once the steps ran; a real teardown's names its approval file and its record too. */
    const ran = (
      status: TeardownResult['status'],
      written?: { approvalFile: string; record: string },
    ): TeardownResult => ({ status, reportPath, listingDigest: listing.digest, approval, synth, steps, ...written });
    if (opts.dryRun) {
      const would = teardownSteps({ env: ws.env, outdir: realOutdir, approvalFile: realApproval, cwd });
      if (stopped) {
        out('dry run interrupted: nothing was changed');
        return ran('interrupted');
      }
      if (failed) out(`dry run: ${failed.step.title} failed (exit ${failed.code}); nothing was changed`);
      if (failed && synth.backend === 'cloud') out(cloudBackendHint('npm run teardown -- ...'));
      out(
        [
          'dry run: nothing was changed. Without --dry-run the gate writes the approval and runs:',
          ...would.map((s) => `  $ ${commandLine(s)}`),
        ].join('\n'),
      );
      return ran(failed ? 'failed' : 'dry-run');
    }

    const outcome = stopped ? 'interrupted' : failed ? 'failed' : 'destroyed';
    const record = writeRecord(reportsDir(ws.env, root), {
      reportPath,
      listingDigest: listing.digest,
      approvalFile,
      approval,
      outdir,
      steps,
      outcome,
      now,
    });
    const destroy = `  $ ${commandLine(plan[1])}`;
    if (stopped) {
      const destroyRan = steps.some((s) => s.step.args[0] === 'destroy');
      out(
        destroyRan
          ? `teardown interrupted during the destroy (exit ${failed!.code}). The approval ${path.relative(cwd, approvalFile)} stays valid until ${approval.expiresAt}: finish with\n${destroy}`
          : steps.length === 0
            ? 'teardown interrupted before its first step: nothing was changed (the approval written is not used)'
            : `teardown interrupted ${failed ? `during the deploy (exit ${failed.code}); nothing was destroyed` : 'after the deploy, before the destroy; nothing was destroyed'}. Run the gate again, or, while the approval ${path.relative(cwd, approvalFile)} is valid (until ${approval.expiresAt}), finish with\n${destroy}`,
      );
      return ran('interrupted', { approvalFile, record });
    }
    if (failed) {
      const deployFailed = failed.step.args[0] === 'deploy';
      out(
        deployFailed
          ? `teardown stopped: the deploy failed (exit ${failed.code}); nothing was destroyed. Fix the cause and run the gate again.`
          : `teardown stopped: the destroy failed (exit ${failed.code}) after the approved deploy. The approval ${path.relative(cwd, approvalFile)} stays valid until ${approval.expiresAt}: finish with\n${destroy}\n(the gate itself would now refuse if objects were already deleted: the listing changed).`,
      );
      if (deployFailed && synth.backend === 'cloud') out(cloudBackendHint('npm run teardown -- ...'));
      return ran('failed', { approvalFile, record });
    }
    out([`${stack} is destroyed. Left for people:`, ...remainingWork(ws).map((w, i) => `  ${i + 1}. ${w}`)].join('\n'));
    return ran('destroyed', { approvalFile, record });
  } finally {
    // A dry run leaves nothing behind but an --out folder it was asked for (the approval never outlives it).
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function writeRecord(
  dir: string,
  r: {
    reportPath: string;
    listingDigest: string;
    approvalFile: string;
    approval: TeardownApproval;
    outdir: string;
    steps: { step: Step; code: number }[];
    outcome: 'destroyed' | 'failed' | 'interrupted';
    now: Date;
  },
): string {
  const file = path.join(dir, `teardown-${r.now.toISOString().replace(/[-:]/g, '')}.json`);
  writeFileAtomic(
    file,
    `${JSON.stringify(
      {
        tool: 'bucketmove teardown',
        env: r.approval.env,
        at: r.now.toISOString(),
        finishedAt: new Date().toISOString(),
        outcome: r.outcome,
        auditReport: r.reportPath,
        listingDigest: r.listingDigest,
        approval: { file: r.approvalFile, ...r.approval },
        synthesized: r.outdir,
        steps: r.steps.map((s) => ({ title: s.step.title, command: commandLine(s.step), exitCode: s.code })),
      },
      null,
      2,
    )}\n`,
  );
  return file;
}
