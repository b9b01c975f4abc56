/**
 * npm run teardown -- --env <env> [flags]
 *
 * The contract phase's gate: destroys the legacy stack only on the evidence of a passing, fresh audit whose listing
 * digest still matches the legacy bucket and which counted zero fallback hits over a long enough window, covered by
 * the store's heartbeats with no gap longer than --max-gap.
 * Exit codes: 0 destroyed (or a dry run that planned cleanly); 1 refused, not confirmed, or a Terraform step failed;
 * 2 bad input (nothing written); 130 interrupted (Ctrl-C, also at the confirmation, or SIGTERM): the gate stops at the
 * next boundary (run-teardown.ts), a running Terraform step stops by itself on Ctrl-C or, on SIGTERM, finishes.
 */
import * as readline from 'readline';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { MAX_REPORT_AGE_HOURS } from '../../../stacks/approval';
import { DEFAULT_MAX_GAP_MS } from '../../../workspaces/audit-verdict';
import { loadWorkspace } from '../../../workspaces/load';
import { createSideClient, preflight } from '../aws/clients';
import { listObjects } from '../audit/list-objects';
import { parseDuration } from '../audit/window';
import { defaultApprover } from '../teardown/approve';
import { runTeardown } from '../teardown/run-teardown';
import { spawnRunner } from '../teardown/terraform-runner';
import { EXIT, isEntry, parseStrict, runCli } from './run-cli';
import { UsageError } from '../../../workspaces/errors';

export function parseArgs(argv: string[]) {
  return parseStrict(
    yargs(argv)
      .scriptName('npm run teardown --')
      .usage(
        '$0 --env <env> [options]\n\nDestroys the legacy stack (legacy-<env>: the legacy bucket, user, keys and reader role) on the evidence of a passing audit: refuses unless the audit report is fresh, still matches the legacy bucket and counted zero fallback hits over a long enough window. Then writes the teardown approval, synthesizes the approved stack, and runs `cdktf deploy` (sets force_destroy) and `cdktf destroy`.',
      )
      .option('env', {
        type: 'string',
        demandOption: true,
        describe: 'Workspace whose legacy stack to destroy (a file in workspaces/, target "aws")',
      })
      .option('report', {
        type: 'string',
        describe: 'The audit report (JSON) [default: the newest .bucketmove/<env>/reports/audit-*.json]',
      })
      .option('max-age', {
        type: 'string',
        default: '24h',
        describe: 'The oldest audit report accepted (30m, 12h, 2d; at most 7d)',
      })
      .option('min-window', {
        type: 'string',
        default: '7d',
        describe:
          'The shortest fallback-hit window accepted: the audit must have counted zero hits over at least this long',
      })
      .option('max-gap', {
        type: 'string',
        default: `${DEFAULT_MAX_GAP_MS / 60_000}m`,
        describe:
          "The longest time in that window the app's heartbeats may leave uncovered, its start and end included (checked again here, whatever the audit allowed)",
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe:
          'Check everything, synthesize the approved stack in a temp folder and run `terraform init` + `terraform plan -destroy` there (read-only); change nothing',
      })
      .option('approval', {
        type: 'string',
        describe: 'Where to write the teardown approval [default: .bucketmove/<env>/teardown/approval.json]',
      })
      .option('approval-valid', {
        type: 'string',
        default: '24h',
        describe:
          'How long the approval stays valid (at most 7d): the window to finish a destroy by hand if it fails midway',
      })
      .option('approved-by', {
        type: 'string',
        describe: 'Who approves, recorded in the approval [default: <user>@<host>]',
      })
      .option('out', {
        type: 'string',
        describe:
          'Folder for the synthesized stacks [default: .bucketmove/<env>/teardown/cdktf.out; a dry run: a temp folder]',
      })
      .option('yes', {
        type: 'boolean',
        default: false,
        describe: 'Do not ask for confirmation (required when stdin is not a terminal)',
      }),
    {
      0: 'destroyed, or a dry run that planned cleanly',
      1: 'refused, not confirmed, or a Terraform step failed',
      130: 'interrupted: the running Terraform step stopped (Ctrl-C) or finished (SIGTERM) and nothing after it ran (the record says which steps ran)',
    },
  );
}

/** Asks the operator to type the env's name. */
/**
 * The typed confirmation; Ctrl-C at the prompt (which the terminal gives readline, not the process) is `onInterrupt`.
 */
function typedConfirmation(env: string, onInterrupt: () => void): (what: string) => Promise<boolean> {
  return async (what) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await new Promise<string>((resolve) => {
        rl.once('SIGINT', () => {
          process.stderr.write('\n');
          onInterrupt();
          resolve('');
        });
        rl.question(`About to ${what}.\nType the env name (${env}) to go ahead: `, resolve);
      });
      return answer.trim() === env;
    } finally {
      rl.close();
    }
  };
}

/** The listing stopped by Ctrl-C. */
class Interrupted extends Error {}

async function main(): Promise<number> {
  const args = parseArgs(hideBin(process.argv));
  const maxAgeMs = parseDuration(args['max-age'], '--max-age');
  if (maxAgeMs > MAX_REPORT_AGE_HOURS * 3_600_000)
    throw new UsageError(
      `--max-age must be at most ${MAX_REPORT_AGE_HOURS / 24}d: synth refuses an approval of an older report (got ${args['max-age']})`,
    );
  const minWindowMs = parseDuration(args['min-window'], '--min-window');
  const maxGapMs = parseDuration(args['max-gap'], '--max-gap');
  const approvalValidMs = parseDuration(args['approval-valid'], '--approval-valid');
  if (approvalValidMs > 7 * 86_400_000)
    throw new UsageError(`--approval-valid must be at most 7d (got ${args['approval-valid']})`);
  if (!args['dry-run'] && !args.yes && !process.stdin.isTTY)
    throw new UsageError(
      'stdin is not a terminal: pass --yes to destroy without the typed confirmation (or --dry-run)',
    );
  const ws = loadWorkspace(args.env);
  if (ws.target !== 'aws' && !args['dry-run']) {
    throw new UsageError(
      `env "${ws.env}" has target "${ws.target}": it has no legacy stack to destroy (stacks exist for target "aws" only); --dry-run still checks the evidence`,
    );
  }
  // The legacy client is made (and the bucket contacted) only once the report passed its checks.
  let legacy: ReturnType<typeof createSideClient> | undefined;
  // Ctrl-C or SIGTERM: the gate stops at its next boundary (run-teardown.ts). A Terraform step in flight got the
  // terminal's Ctrl-C too (same process group) and stops safely; SIGTERM, sent to the gate alone, lets it finish.
  const interrupt = new AbortController();
  let stepRunning = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupt.abort();
    const during =
      signal === 'SIGINT'
        ? 'the interrupt reached Terraform too; waiting for it to stop'
        : 'waiting for the running Terraform step to finish';
    process.stderr.write(`\nteardown: ${signal}: ${stepRunning ? `${during}; nothing runs after it` : 'stopping'}\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runTeardown(
      {
        ws,
        listLegacy: async function* () {
          legacy = createSideClient(ws, 'legacy');
          await preflight(legacy);
          for await (const o of listObjects(legacy.s3, legacy.bucket)) {
            if (interrupt.signal.aborted) throw new Interrupted();
            yield o;
          }
        },
        runner: async (step) => {
          stepRunning = true;
          try {
            return await spawnRunner(step);
          } finally {
            stepRunning = false;
          }
        },
        confirm: args.yes ? undefined : typedConfirmation(ws.env, () => interrupt.abort()),
        out: (line) => process.stdout.write(`${line}\n`),
        signal: interrupt.signal,
      },
      {
        reportPath: args.report,
        maxAgeMs,
        minWindowMs,
        maxGapMs,
        dryRun: args['dry-run'],
        approvalFile: args.approval,
        outdir: args.out,
        approvalValidMs,
        approvedBy: args['approved-by'] ?? defaultApprover(),
      },
    );
    if (result.status === 'interrupted') return EXIT.interrupted;
    return result.status === 'destroyed' || result.status === 'dry-run' ? EXIT.ok : EXIT.failed;
  } catch (err) {
    if (err instanceof Interrupted) {
      process.stderr.write('teardown: interrupted while listing the legacy bucket; nothing was written or changed\n');
      return EXIT.interrupted;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    legacy?.destroy();
  }
}

if (isEntry(module)) runCli('teardown', main);
