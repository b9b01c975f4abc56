/**
 * npm run keys -- <rotate|finish|terraform-cloud|status> --env <env> [--user app|dev] [flags]
 *
 * The access keys of the app user (and of dev's local-development user), kept out of Terraform state: Terraform
 * creates the users and their Secrets Manager secrets, this command (or the scheduled rotation function the primary
 * stack deploys) creates and rotates the keys. See keys/rotate.ts for the steps.
 *
 * Runs with the operator's own AWS credentials (the SDK's chain) in the primary account: IAM on the user's keys,
 * Secrets Manager on the user's secret. Exit codes: 0 done; 1 refused or a step failed (one line saying what to do);
 * 2 bad input (nothing changed).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { KEY_USERS, type KeyUser } from '../../../workspaces/key-layout';
import { loadWorkspace } from '../../../workspaces/load';
import { keyRotationOf } from '../../../workspaces/schema';
import { parseDuration } from '../audit/window';
import { createLogger } from '../log';
import { finishRotation, keyStatus, pushToTerraformCloud, rotateKey, type TerraformCloudWrite } from '../keys/rotate';
import { rotationTarget } from '../keys/rotation-target';
import { DEFAULT_TFC_HOSTNAME, terraformCloudToken } from '../keys/terraform-cloud';
import { EXIT, isEntry, parseStrict, runCli } from './run-cli';
import { UsageError } from '../../../workspaces/errors';

const ACTIONS = ['rotate', 'finish', 'terraform-cloud', 'status'] as const;

export function parseArgs(argv: string[]) {
  return parseStrict(
    yargs(argv)
      .scriptName('npm run keys --')
      .usage(
        '$0 <rotate|finish|terraform-cloud|status> --env <env> [--user app|dev] [options]\n\n' +
          "rotate: create a new access key for the user, store it in its Secrets Manager secret (AWSPENDING), prove it works as the user (STS GetCallerIdentity, HeadBucket), make it AWSCURRENT, write it into the app's Terraform Cloud workspaces (app user), deactivate the old key, and delete it after --grace (--wait, or a later `finish`).\n" +
          'finish: deactivate the old key if it is still active; delete it once --grace has passed since the new key was stored.\n' +
          "terraform-cloud: write the current key into the app's Terraform Cloud workspaces again.\n" +
          "status: the user's keys and the secret's versions (never a secret).",
      )
      .command('$0 <action>', false, (y) =>
        y.positional('action', { type: 'string', choices: ACTIONS, demandOption: true }),
      )
      .option('env', {
        type: 'string',
        demandOption: true,
        describe: 'Workspace (a file in workspaces/, target "aws")',
      })
      .option('user', {
        type: 'string',
        choices: KEY_USERS as KeyUser[],
        default: 'app',
        describe: "Whose key: the app user, or dev's local-development user",
      })
      .option('grace', {
        type: 'string',
        describe:
          'How long the old key stays (inactive) before it is deleted, from when the new key was stored: 30m, 12h, 7d [default: primary.keyRotation.graceDays, 7d]',
      })
      .option('deactivate', {
        type: 'boolean',
        default: true,
        describe:
          'Deactivate the old key right after the rotation (--no-deactivate: leave it active until `finish`, for an app that reads its keys only when it starts)',
      })
      .option('wait', {
        type: 'boolean',
        default: false,
        describe: 'Wait out the grace period and delete the old key (otherwise run `finish` then)',
      })
      .option('terraform-cloud', {
        type: 'boolean',
        default: true,
        describe:
          "Write the app user's new key into the workspace file's terraformCloud.app workspaces (--no-terraform-cloud: do not)",
      }),
    {
      1: 'refused or a step failed (the line says what to do)',
      2: 'bad input, configuration or credentials (nothing changed)',
    },
  );
}

async function main(): Promise<number> {
  const args = parseArgs(hideBin(process.argv));
  const action = (args as { action?: string }).action as (typeof ACTIONS)[number];
  const user = args.user as KeyUser;
  const ws = loadWorkspace(args.env);
  if (ws.target !== 'aws')
    throw new UsageError(
      `env "${ws.env}" has target "${ws.target}": its keys are not managed by bucketmove (IAM users exist on AWS only)`,
    );
  const graceMs =
    args.grace === undefined ? keyRotationOf(ws).graceDays * 86_400_000 : parseDuration(args.grace, '--grace');
  const app = ws.terraformCloud?.app;
  if (action === 'terraform-cloud' && (user !== 'app' || !app)) {
    throw new UsageError(
      `terraform-cloud writes the app user's key into terraformCloud.app.workspaces, which ${ws.env}.json ${app ? 'names' : 'does not name'}${user !== 'app' ? '; use --user app' : ''}`,
    );
  }
  const hostname = ws.terraformCloud?.hostname ?? DEFAULT_TFC_HOSTNAME;
  const terraformCloud: TerraformCloudWrite | undefined =
    user === 'app' && app && ws.terraformCloud
      ? {
          app: {
            baseUrl: process.env.BUCKETMOVE_TFC_URL ?? `https://${hostname}`,
            organization: ws.terraformCloud.organization,
            workspaces: app.workspaces,
            variables: app.variables,
            category: app.category,
          },
          token: () => terraformCloudToken(hostname),
        }
      : undefined;
  // Fail before any change when the Terraform Cloud token is missing.
  if (action === 'rotate' && terraformCloud && args['terraform-cloud']) terraformCloud.token();

  const log = createLogger({ name: 'bucketmove-keys' });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const target = rotationTarget(ws, user, { log, graceMs });
  try {
    switch (action) {
      case 'rotate':
        await rotateKey(target, {
          env: ws.env,
          user,
          deactivate: args.deactivate,
          wait: args.wait,
          terraformCloud: args['terraform-cloud'] ? terraformCloud : undefined,
          say,
        });
        return EXIT.ok;
      case 'finish':
        await finishRotation(target, { env: ws.env, user, wait: args.wait, say });
        return EXIT.ok;
      case 'terraform-cloud':
        await pushToTerraformCloud(target, terraformCloud!, say);
        return EXIT.ok;
      case 'status':
        await keyStatus(target, say);
        return EXIT.ok;
    }
  } finally {
    target.destroy();
  }
}

if (isEntry(module)) runCli('keys', main);
