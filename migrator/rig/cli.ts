/**
 * `npm run rig -- start|stop|status|install`: the local real S3 (Ceph RGW) with the two accounts of a workspace.
 * Prints endpoints, PIDs and figures, never keys: those are in the state file (mode 0600) only.
 * Exit codes as every command's: 0 done; 1 the rig failed (start, stop); 2 bad input, or packages missing that it
 * cannot install (not root, not Debian); 3 `status`: no rig up.
 */
import * as path from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadWorkspace } from '../../workspaces/load';
import { ConfigError } from '../../workspaces/errors';
import { exitCodesHelp } from '../src/exit-codes';
import { EXIT, yargsMessage } from '../src/cli/run-cli';
import { RigError } from './cluster';
import { CLIENT_PACKAGES, ensurePackages, InstallError, SERVER_PACKAGES } from './install';
import { DEFAULT_MEMSTORE_BYTES, rigStatus, startRig, stopRig } from './rig';
import { RIG_STATE_ENV, rigStatePath } from '../src/aws/rig-state';
import { MIB } from '../../workspaces/units';

const show = (file: string) => {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
};
const say = (line: string) => process.stdout.write(`${line}\n`);
// `npm run rig -- status | head -1` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('npm run rig --')
    .usage(
      '$0 <command> [options]\n\nA throwaway single-node Ceph RADOS Gateway on 127.0.0.1 with the two accounts of a workspace.',
    )
    .option('state', {
      type: 'string',
      describe: `the state file (endpoint, keys, PIDs; mode 0600) [default: $${RIG_STATE_ENV}, else .rig/state.json]`,
    })
    .command(
      'start',
      'start a rig (or report the one already running at this state file)',
      (y) =>
        y
          .option('env', {
            type: 'string',
            default: 'local',
            describe: 'the workspace whose tenants, users, buckets and roles to create',
          })
          .option('owner-pid', { type: 'number', describe: 'stop the rig automatically when this process ends' })
          .option('memstore-gib', {
            type: 'number',
            default: DEFAULT_MEMSTORE_BYTES / 1024 ** 3,
            describe: 'memstore ceiling in GiB (RAM is used only by what is stored)',
          })
          .option('verbose-logs', {
            type: 'boolean',
            default: false,
            describe: 'log every request to <dir>/log/client.rgw.log',
          }),
      async (args) => {
        if (!(args['memstore-gib'] > 0))
          throw new ConfigError(`--memstore-gib must be a positive number (got ${args['memstore-gib']})`);
        if (args['owner-pid'] !== undefined && !(Number.isInteger(args['owner-pid']) && args['owner-pid'] > 0)) {
          throw new ConfigError(`--owner-pid must be a process id (got ${args['owner-pid']})`);
        }
        const statePath = path.resolve(args.state ?? rigStatePath());
        const { state, started } = await startRig({
          workspace: loadWorkspace(args.env),
          statePath,
          ownerPid: args['owner-pid'],
          memstoreBytes: Math.round(args['memstore-gib'] * 1024 ** 3),
          verboseLogs: args['verbose-logs'],
          log: (line) => process.stderr.write(`rig: ${line}\n`),
        });
        if (!started) {
          say(`rig already running at ${state.endpoint} (state ${show(statePath)})`);
          return;
        }
        const m = state.measured!;
        say(
          `rig up at ${state.endpoint} in ${m.startSeconds.toFixed(1)} s, RSS ${(m.rssBytes / MIB).toFixed(0)} MiB (mon+osd+rgw)`,
        );
        say(`  state: ${show(statePath)} (keys inside, mode 0600)   dir: ${state.dir}`);
        say(
          `  tenants ${state.tenants.legacy} and ${state.tenants.primary}; buckets ${state.buckets.legacy}, ${state.buckets.primary}`,
        );
        say(
          `  reader role ${state.roles.reader.arn}, writer role ${state.roles.writer.arn}` +
            (state.roles.reader.externalIdCondition
              ? ''
              : ' (trust without sts:ExternalId: this RGW does not evaluate it)'),
        );
        say(`  SSE-KMS key id ${state.kms?.keyId}`);
      },
    )
    .command(
      'stop',
      'stop the rig of the state file (kills only its own PIDs) and remove its directory',
      (y) => y,
      async (args) => {
        const statePath = path.resolve(args.state ?? rigStatePath());
        const killed = await stopRig(statePath);
        say(
          killed === undefined
            ? `no rig running (no ${show(statePath)})`
            : `rig stopped (killed ${killed.length ? killed.join(', ') : 'nothing: its processes were gone'})`,
        );
      },
    )
    .command(
      'status',
      'show whether the rig is up, its endpoint, PIDs and memory',
      (y) => y.option('json', { type: 'boolean', default: false }),
      async (args) => {
        const statePath = path.resolve(args.state ?? rigStatePath());
        const status = await rigStatus(statePath);
        if (!status) {
          say(`no rig (no ${show(statePath)})`);
          process.exitCode = EXIT.incomplete;
          return;
        }
        const { state } = status;
        const up = status.answering && Object.values(status.alive).every(Boolean);
        if (args.json) {
          say(
            JSON.stringify({
              up,
              endpoint: state.endpoint,
              dir: state.dir,
              pids: state.pids,
              alive: status.alive,
              rssBytes: status.rssBytes,
              measured: state.measured,
            }),
          );
        } else {
          say(
            `rig ${up ? 'up' : 'DOWN'} at ${state.endpoint}; ${Object.entries(state.pids ?? {})
              .map(([r, p]) => `${r} ${p} ${status.alive[r] ? 'alive' : 'gone'}`)
              .join(', ')}; RSS ${(status.rssBytes / MIB).toFixed(0)} MiB`,
          );
        }
        if (!up) process.exitCode = EXIT.incomplete;
      },
    )
    .command(
      'install',
      `install the Debian packages the rig and the tests need (${[...new Set([...SERVER_PACKAGES, ...CLIENT_PACKAGES].map((n) => n.pkg))].join(', ')}); as root, waiting for another apt-get up to 5 min`,
      (y) => y,
      () => {
        const installed = ensurePackages([...SERVER_PACKAGES, ...CLIENT_PACKAGES], (line) =>
          process.stderr.write(`rig: ${line}\n`),
        );
        say(installed.length ? `installed ${installed.join(' ')}` : 'all packages present');
      },
    )
    .demandCommand(1, 'name a command: start, stop, status or install')
    .epilog(
      exitCodesHelp({
        1: 'the rig failed (start, stop)',
        2: 'bad input, or packages missing that it cannot install (not root, not Debian)',
        3: '`status`: no rig up',
      }),
    )
    .strict()
    .fail((msg, err) => {
      throw err ?? new ConfigError(`${yargsMessage(msg)}; see --help`);
    })
    .help()
    .version(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .parseAsync();
}

main(hideBin(process.argv)).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof InstallError) {
    process.stderr.write(`rig: ${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (err instanceof RigError) {
    process.stderr.write(`rig: ${err.message}\n`);
    process.exitCode = EXIT.failed;
  } else {
    process.stderr.write(`rig: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failed;
  }
});
