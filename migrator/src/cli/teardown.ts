/**
 * npm run teardown -- --env <env> [flags]
 *
 * The contract phase's gate: destroys the legacy stack only on the evidence of a passing, fresh audit whose listing
 * digest still matches the legacy bucket and which counted zero fallback hits over a long enough window, covered by
 * the store's heartbeats with no gap longer than --max-gap.
 * Exit codes: 0 destroyed (or a dry run that planned cleanly); 1 refused, not confirmed, or a Terraform step failed;
 * 2 bad input (nothing written).
 */
import * as readline from 'readline';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { MAX_REPORT_AGE_HOURS } from '../../../stacks/approval';
import { loadWorkspace } from '../../../workspaces/load';
import { createSideClient, preflight } from '../aws/clients';
import { listObjects } from '../audit/list-objects';
import { parseDuration } from '../audit/window';
import { defaultApprover } from '../teardown/approve';
import { runTeardown } from '../teardown/run-teardown';
import { spawnRunner } from '../teardown/terraform-runner';
import { EXIT, parseStrict, runCli, UsageError } from './run-cli';

export function parseArgs(argv: string[]) {
  return parseStrict(
    yargs(argv)
      .scriptName('npm run teardown --')
      .usage(
        '$0 --env <env> [options]\n\nDestroys the legacy stack (legacy-<env>: the legacy bucket, user, keys and reader role) on the evidence of a passing audit: refuses unless the audit report is fresh, still matches the legacy bucket and counted zero fallback hits over a long enough window. Then writes the teardown approval, synthesizes the approved stack, and runs `cdktf deploy` (sets force_destroy) and `cdktf destroy`.',
      )
      .option('env', { type: 'string', demandOption: true, describe: 'Workspace whose legacy stack to destroy (a file in workspaces/, target "aws")' })
      .option('report', { type: 'string', describe: 'The audit report (JSON) [default: the newest .bucketmove/<env>/reports/audit-*.json]' })
      .option('max-age', { type: 'string', default: '24h', describe: 'The oldest audit report accepted (30m, 12h, 2d; at most 7d)' })
      .option('min-window', { type: 'string', default: '7d', describe: 'The shortest fallback-hit window accepted: the audit must have counted zero hits over at least this long' })
      .option('max-gap', { type: 'string', default: '15m', describe: "The longest time in that window the app's heartbeats may leave uncovered, its start and end included (checked again here, whatever the audit allowed)" })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Check everything, synthesize the approved stack in a temp folder and run `terraform init` + `terraform plan -destroy` there (read-only); change nothing' })
      .option('approval', { type: 'string', describe: 'Where to write the teardown approval [default: .bucketmove/<env>/teardown/approval.json]' })
      .option('approval-valid', { type: 'string', default: '24h', describe: 'How long the approval stays valid (at most 7d): the window to finish a destroy by hand if it fails midway' })
      .option('approved-by', { type: 'string', describe: 'Who approves, recorded in the approval [default: <user>@<host>]' })
      .option('out', { type: 'string', describe: 'Folder for the synthesized stacks [default: .bucketmove/<env>/teardown/cdktf.out; a dry run: a temp folder]' })
      .option('yes', { type: 'boolean', default: false, describe: 'Do not ask for confirmation (required when stdin is not a terminal)' })
  );
}

/** Asks the operator to type the env's name. */
function typedConfirmation(env: string): (what: string) => Promise<boolean> {
  return async (what) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await new Promise<string>((resolve) => rl.question(`About to ${what}.\nType the env name (${env}) to go ahead: `, resolve));
      return answer.trim() === env;
    } finally {
      rl.close();
    }
  };
}

async function main(): Promise<number> {
  const args = parseArgs(hideBin(process.argv));
  const maxAgeMs = parseDuration(args['max-age'], '--max-age');
  if (maxAgeMs > MAX_REPORT_AGE_HOURS * 3_600_000) throw new UsageError(`--max-age must be at most ${MAX_REPORT_AGE_HOURS / 24}d: synth refuses an approval of an older report (got ${args['max-age']})`);
  const minWindowMs = parseDuration(args['min-window'], '--min-window');
  const maxGapMs = parseDuration(args['max-gap'], '--max-gap');
  const approvalValidMs = parseDuration(args['approval-valid'], '--approval-valid');
  if (approvalValidMs > 7 * 86_400_000) throw new UsageError(`--approval-valid must be at most 7d (got ${args['approval-valid']})`);
  if (!args['dry-run'] && !args.yes && !process.stdin.isTTY) throw new UsageError('stdin is not a terminal: pass --yes to destroy without the typed confirmation (or --dry-run)');
  const ws = loadWorkspace(args.env);
  if (ws.target !== 'aws' && !args['dry-run']) {
    throw new UsageError(`env "${ws.env}" has target "${ws.target}": it has no legacy stack to destroy (stacks exist for target "aws" only); --dry-run still checks the evidence`);
  }
  // The legacy client is made (and the bucket contacted) only once the report passed its checks.
  let legacy: ReturnType<typeof createSideClient> | undefined;
  try {
    const stepInterrupts = () => process.stderr.write('\nteardown: interrupt passed to Terraform; waiting for it to stop\n');
    const result = await runTeardown(
      {
        ws,
        listLegacy: async function* () {
          legacy = createSideClient(ws, 'legacy');
          await preflight(legacy);
          yield* listObjects(legacy.s3, legacy.bucket);
        },
        runner: async (step) => {
          // Ctrl-C reaches Terraform (same process group), which stops safely; the gate waits for it.
          process.on('SIGINT', stepInterrupts);
          try {
            return await spawnRunner(step);
          } finally {
            process.removeListener('SIGINT', stepInterrupts);
          }
        },
        confirm: args.yes ? undefined : typedConfirmation(ws.env),
        out: (line) => process.stdout.write(`${line}\n`),
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
    return result.status === 'destroyed' || result.status === 'dry-run' ? EXIT.ok : EXIT.failed;
  } finally {
    legacy?.destroy();
  }
}

if (require.main === module) runCli('teardown', main);
