/**
 * `npm run cdktf -- <command> [args]`: the project's cdktf CLI (node_modules/.bin/cdktf, or BUCKETMOVE_CDKTF), as the
 * docs (README, docs/stacks.md) run it:
 *
 * - quiet offline: the CLI's update, version and telemetry checks are off (stacks/backend.ts QUIET_CLI_ENV), so no red
 *   `[ERROR] ... checkpoint-api.hashicorp.com` on every command (an explicit setting in the environment wins);
 * - helpful when Terraform Cloud is what fails: for the commands that run Terraform against the state (deploy, destroy,
 *   diff, plan, output, watch), with the default backend, it says before the run when no Terraform Cloud token is set
 *   (`terraform login`), and after a failed run it names BUCKETMOVE_BACKEND=local. Terraform's own output is passed
 *   through untouched (the terminal stays the CLI's, for its prompts).
 *
 * Exits with the CLI's exit code.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cloudBackendHint, QUIET_CLI_ENV } from '../stacks/backend';
import { ENV_VARS } from '../stacks/app';
import { cdktfCommand } from '../migrator/src/teardown/terraform-runner';
import { DEFAULT_TFC_HOSTNAME, terraformCloudToken } from '../migrator/src/keys/terraform-cloud';
import { repoRoot } from '../workspaces/load';

/** The cdktf commands that initialize Terraform with the stacks' backend. */
export const STATE_COMMANDS = ['deploy', 'destroy', 'diff', 'plan', 'output', 'outputs', 'watch'];

/** The backend the app will configure: BUCKETMOVE_BACKEND, else the cdktf.json context's, else Terraform Cloud. */
export function configuredBackend(env: NodeJS.ProcessEnv, root = repoRoot()): string {
  const fromEnv = env[ENV_VARS.backend]?.trim();
  if (fromEnv) return fromEnv;
  try {
    const context = (
      JSON.parse(fs.readFileSync(path.join(root, 'cdktf.json'), 'utf8')) as { context?: { backend?: unknown } }
    ).context;
    if (typeof context?.backend === 'string' && context.backend.trim()) return context.backend.trim();
  } catch {
    // the app reports a broken cdktf.json itself
  }
  return 'cloud';
}

function hasTerraformCloudToken(env: NodeJS.ProcessEnv): boolean {
  try {
    terraformCloudToken(DEFAULT_TFC_HOSTNAME, env);
    return true;
  } catch {
    return false;
  }
}

export function runCdktf(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  say = (line: string) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const command = args.find((a) => !a.startsWith('-')) ?? '';
  const againstState = STATE_COMMANDS.includes(command) && configuredBackend(env) === 'cloud';
  const again = `npm run cdktf -- ${args.join(' ')}`;
  if (againstState && !hasTerraformCloudToken(env)) {
    say(
      `bucketmove: no Terraform Cloud token (run \`terraform login\`, or set TF_TOKEN_app_terraform_io): \`cdktf ${command}\` will fail to reach the stacks' state; ${cloudBackendHint(again)}`,
    );
  }
  return new Promise((resolve) => {
    const child = spawn(cdktfCommand(env), args, { stdio: 'inherit', env: { ...QUIET_CLI_ENV, ...env } });
    child.on('error', (err) => {
      say(`bucketmove: cannot start cdktf (${err.message}): run \`npm ci\` first`);
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      const exit = code ?? (signal ? 128 + 15 : 1);
      if (exit !== 0 && againstState)
        say(`bucketmove: cdktf ${command} failed (exit ${exit}); ${cloudBackendHint(again)}`);
      resolve(exit);
    });
  });
}

if (require.main === module) {
  runCdktf(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
