/**
 * npm run demo
 *
 * The whole migration on this machine: a local S3 with two accounts, encrypted legacy photos, and
 * the app (two instances of the photo service under a light load) taken through the runbook's releases one instance
 * at a time, each a config change (PHOTO_STORE_MODE, restart): legacy-only -> read-both-write-legacy -> dual-read ->
 * the migrator's backfill (the fallback hits falling to zero) -> the audit -> new-only -> the teardown gate in dry-run.
 * Every step prints the command it runs and the one a user runs on AWS. Everything it starts is stopped at the end
 * (also on failure or Ctrl-C); its reports stay in .bucketmove/demo/<time>/.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadWorkspace, repoRoot } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { InstallError } from '../../rig/install';
import { startRig, stopRig } from '../../rig/rig';
import type { RigState } from '../aws/rig-state';
import { createSideClient } from '../aws/clients';
import { createCodec } from '../codec';
import { generateFernetKey } from '../codec/fernet';
import { isEntry, parseStrict, runCli } from '../cli/run-cli';
import { formatDuration } from '../progress/format';
import { fileStamp } from '../report/files';
import { planObjects } from '../seed/plan';
import { seedLegacy } from '../seed/seeder';
import { parseSizeSpec } from '../seed/sizes';
import type { StoreMode } from '../store/modes';
import { Fleet } from './fleet';
import { LightLoad } from './load';

const ROOT = repoRoot();
const DIST = path.join(ROOT, 'dist', 'migrator', 'src');
const PHOTOS_DEFAULT = 300;
const PHOTOS = Number(process.env.DEMO_PHOTOS ?? PHOTOS_DEFAULT);
/**
 * The demo's evidence window is seconds long, not the 7 days a real audit asks for, so its service beats every 250 ms
 * (not every minute) and its audit and gate allow a 2 s gap (not 15 minutes). Said so where it is used.
 */
const DEMO_HEARTBEAT_MS = 250;
const DEMO_MAX_GAP = '2s';
const tty = Boolean(process.stdout.isTTY);
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);

const INSTANCES = 2;

let stepNo = 0;
const STEPS = 11;
function step(title: string, local: string, aws: string): void {
  stepNo++;
  process.stdout.write(`\n${bold(`[${stepNo}/${STEPS}] ${title}`)}\n`);
  if (local) process.stdout.write(`${dim(`  here:   ${local}`)}\n`);
  if (aws) process.stdout.write(`${dim(`  on AWS: ${aws}`)}\n`);
}
const say = (s: string) => process.stdout.write(`  ${s}\n`);

/** Runs a built CLI to its end; its stdout is indented into ours, its stderr (a progress bar) passes through. */
function runTool(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(DIST, script), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d.toString().replace(/^(?=.)/gm, '  | '));
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** The store's variables for the rig (the app users' keys, as an app holds them), all but the mode. */
function storeEnv(state: RigState, fernetKey: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: state.region,
    PHOTO_STORE_BUCKET: state.buckets.primary,
    PHOTO_STORE_ENDPOINT: state.endpoint,
    AWS_ACCESS_KEY_ID: state.principals.primaryApp.accessKeyId,
    AWS_SECRET_ACCESS_KEY: state.principals.primaryApp.secretAccessKey,
    PHOTO_STORE_LEGACY_BUCKET: state.buckets.legacy,
    PHOTO_STORE_LEGACY_ENDPOINT: state.endpoint,
    LEGACY_AWS_ACCESS_KEY_ID: state.principals.legacyApp.accessKeyId,
    LEGACY_AWS_SECRET_ACCESS_KEY: state.principals.legacyApp.secretAccessKey,
    LEGACY_FERNET_KEYS: fernetKey,
    PHOTO_STORE_HEARTBEAT_MS: String(DEMO_HEARTBEAT_MS),
  };
}

async function fallbackHits(fleet: Fleet): Promise<number> {
  const counts = await Promise.all(
    fleet.urls.map(
      async (url) => ((await (await fetch(`${url}/metrics`)).json()) as { fallbackHits: number }).fallbackHits,
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** No flags: --help says what the demo does; anything else is refused (exit 2). */
export function parseArgs(argv: string[]): void {
  parseStrict(
    yargs(argv)
      .scriptName('npm run demo --')
      .usage(
        '$0\n\nThe whole migration on this machine: a local S3 with two accounts (Ceph RGW; its Debian packages installed first if missing, as root), ' +
          'encrypted legacy photos, and the app (two instances of the photo service under a light load) taken through the runbook one release at a time: ' +
          'legacy-only, read-both-write-legacy, dual-read, the backfill, the audit, new-only and the teardown gate in dry run. ' +
          'Everything it starts is stopped at the end; its reports stay in .bucketmove/demo/<time>/.',
      )
      .epilog(
        `Sized by the environment:\n  DEMO_PHOTOS: photos to seed (${PHOTOS_DEFAULT}; the seeder's odd keys come on top)`,
      ),
    {
      0: 'every step passed and the counts add up',
      1: 'a step failed, a request failed, or the counts do not add up',
      2: "bad input, or the rig's packages missing and not installable",
      130: 'interrupted (everything it started stopped, its rig removed)',
    },
  );
}

async function main(): Promise<number> {
  parseArgs(hideBin(process.argv));
  const started = Date.now();
  const ws = loadWorkspace('local');
  const demoDir = path.join(ROOT, '.bucketmove', 'demo', fileStamp());
  fs.mkdirSync(demoDir, { recursive: true });
  const rigDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-demo-rig-'));
  const statePath = path.join(rigDir, 'state.json');
  const serviceLog = path.join(demoDir, 'photo-service.log');
  const rel = (p: string) => path.relative(ROOT, p);
  let fleet: Fleet | undefined;
  let load: LightLoad | undefined;
  const cleanup = async () => {
    await load?.stop();
    await fleet?.stop();
    await stopRig(statePath).catch(() => undefined);
    fs.rmSync(rigDir, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** One release: every instance switched to `mode` in turn, the load going on. */
  const release = async (mode: StoreMode) => {
    const before = { ...load!.stats };
    await fleet!.roll(mode, (i) =>
      say(
        `instance ${i + 1} of ${INSTANCES} restarted with PHOTO_STORE_MODE=${mode}; the fleet: ${fleet!.modes.join(', ')}`,
      ),
    );
    await pause(500);
    say(
      `meanwhile ${load!.stats.requests - before.requests} requests (${load!.stats.readsLegacy - before.readsLegacy} reads from legacy), ${load!.stats.failed - before.failed} failed`,
    );
  };

  // The legacy bucket: PHOTOS photos, plus the seeder's fixed set of keys that break naive tools.
  const objects = planObjects({
    count: PHOTOS,
    size: parseSizeSpec('20KiB-600KiB'),
    oddKeys: true,
    seed: 'demo',
    prefix: 'chats/',
  });
  const odd = objects.filter((o) => o.odd).length;
  process.stdout.write(
    `${bold('bucketmove demo')}: move ${PHOTOS} encrypted photos and ${odd} objects with odd keys from a legacy account to the primary one, with the app serving them (and taking uploads) throughout.\n`,
  );
  try {
    step(
      'Two accounts, their buckets, users and migration roles',
      'npm run rig -- start (Ceph RGW on 127.0.0.1, tenants "legacy" and "primary")',
      'cdktf deploy primary-prod legacy-prod',
    );
    fs.mkdirSync(path.join(rigDir, 'rig'));
    // The rig installs Ceph's Debian packages if they are missing (as root, saying so; else one line on what to run).
    const { state } = await startRig({
      workspace: ws,
      statePath,
      dir: path.join(rigDir, 'rig'),
      ownerPid: process.pid,
      log: (line) => say(`rig: ${line}`),
    }).catch((err: unknown) => {
      throw err instanceof InstallError ? new ConfigError(err.message) : err;
    });
    say(`local S3 at ${state.endpoint}, ready in ${state.measured?.startSeconds.toFixed(1)} s`);
    say(
      `from workspaces/local.json: buckets ${state.buckets.legacy} (legacy) and ${state.buckets.primary} (new); the app users; the reader role`,
    );
    say(
      `in legacy and the writer role in primary, with the rights of stacks/perms.ts. Terraform cannot apply to RGW, so the`,
    );
    say(
      `rig creates the equivalent of the stacks with the SDK (the stacks themselves: npm run synth; tests plan them).`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, BUCKETMOVE_RIG_STATE: statePath };

    step(
      `The legacy app's objects: ${PHOTOS} photos and ${odd} odd keys, Fernet-encrypted`,
      `npm run seed-legacy -- --env local --count ${PHOTOS} --odd-keys`,
      '(already there: your legacy bucket)',
    );
    const fernetKey = generateFernetKey(); // in memory and in the children's environment only
    env.LEGACY_FERNET_KEYS = fernetKey;
    const writer = createSideClient({ ...ws, migration: { ...ws.migration, credentials: 'static' } }, 'legacy', {
      rigState: state,
      env: {},
    });
    const seeded = await seedLegacy({
      client: writer,
      codec: createCodec(ws.codec, [fernetKey], path.dirname(ws.file)),
      objects,
      seed: 'demo',
      concurrency: 16,
    });
    writer.destroy();
    const photos = new Map(seeded.entries.map((e) => [e.key, e.sha256]));
    say(
      `${seeded.entries.length} objects: ${PHOTOS} photos + ${odd} odd keys (spaces, +, %, Unicode, a 1024-byte key, an empty photo, a folder marker); ${(seeded.storedBytes / 2 ** 20).toFixed(1)} MiB stored, in ${seeded.seconds.toFixed(1)} s`,
    );

    step(
      `The app as it is: ${INSTANCES} instances in legacy-only, and a light load`,
      'npm run photo-service with PHOTO_STORE_MODE=legacy-only, twice',
      '(your app, as deployed)',
    );
    fleet = new Fleet(path.join(DIST, 'service', 'main.js'), ROOT, storeEnv(state, fernetKey), serviceLog);
    await fleet.launch(INSTANCES, 'legacy-only');
    load = new LightLoad({ send: (request) => fleet!.send(request), photos, clients: 3, pauseMs: 20 });
    load.start();
    await pause(1000);
    say(
      `photo service at ${fleet.urls.join(' and ')}: ${load.stats.requests} requests in 1 s, ${load.stats.failed} failed`,
    );

    step(
      'Release 1: reads try new, then legacy; writes and deletes still go to legacy',
      'restart each instance in turn with PHOTO_STORE_MODE=read-both-write-legacy',
      'roll the app out with PHOTO_STORE_MODE=read-both-write-legacy',
    );
    await release('read-both-write-legacy');

    step(
      'Release 2 (expand): writes go to new; reads fall back to legacy on 404 only',
      'restart each instance in turn with PHOTO_STORE_MODE=dual-read',
      'roll the app out with PHOTO_STORE_MODE=dual-read',
    );
    await release('dual-read');

    step(
      'Backfill: decrypt-copy every legacy object, never over what the app wrote',
      'npm run migrate -- --env local',
      'npm run migrate -- --env prod (assumes the reader and writer roles)',
    );
    const hitsPerSecond: number[] = [];
    let last = await fallbackHits(fleet);
    const ticker = setInterval(() => {
      void fallbackHits(fleet!).then((n) => {
        hitsPerSecond.push(n - last);
        last = n;
      });
    }, 1000);
    const checkpoint = path.join(demoDir, 'checkpoint.sqlite');
    const migrate = await runTool(
      'cli/migrate.js',
      ['--env', 'local', '--checkpoint', checkpoint, '--report', path.join(demoDir, 'migrate'), '--concurrency', '8'],
      {
        ...env,
        ...(process.stderr.isTTY ? {} : { BUCKETMOVE_LOG_LEVEL: 'warn' }),
      },
    );
    if (migrate.code !== 0) throw new Error(`the migrator exited ${migrate.code}`);
    const migratedAt = new Date();
    const legacyReadsAtMigrated = load.stats.readsLegacy;
    await pause(2200);
    clearInterval(ticker);
    say(`fallback hits per second, during and after the backfill: ${hitsPerSecond.join(' ')}`);

    step(
      'Verify: every legacy key in the new bucket with its size and SHA-256; zero fallback hits since, in a log the heartbeats show covers it',
      `npm run audit -- --env local --fallback-log <the fleet's log> --since <the backfill's end> --max-gap ${DEMO_MAX_GAP}`,
      'npm run audit -- --env prod (fallback hits and heartbeats from CloudWatch Logs Insights, over the last 7 days, no gap over 15m)',
    );
    say(
      `a DEMO window: from the end of the backfill (${((Date.now() - migratedAt.getTime()) / 1000).toFixed(1)} s ago) to the audit, the instances beating every ${DEMO_HEARTBEAT_MS} ms, gaps up to ${DEMO_MAX_GAP}; a real audit covers 7 days (--since 7d) of minute beats, gaps up to 15m (the defaults)`,
    );
    const auditBase = path.join(demoDir, 'audit');
    const audit = await runTool(
      'cli/audit.js',
      [
        '--env',
        'local',
        '--checkpoint',
        checkpoint,
        '--report',
        auditBase,
        '--fallback-log',
        serviceLog,
        '--since',
        migratedAt.toISOString(),
        '--max-gap',
        DEMO_MAX_GAP,
        '--progress',
        'log',
      ],
      { ...env, BUCKETMOVE_LOG_LEVEL: 'warn' },
    );
    if (audit.code !== 0) throw new Error(`the audit did not pass (exit ${audit.code}); see ${rel(auditBase)}.md`);

    step(
      'Release 3: new-only (deletes still leave tombstones while a legacy bucket exists)',
      'restart each instance in turn with PHOTO_STORE_MODE=new-only',
      'roll the app out with PHOTO_STORE_MODE=new-only',
    );
    await release('new-only');
    await load.stop();
    const afterStats = { ...load.stats };
    load = undefined;

    step(
      'Contract: the teardown gate, dry run (on the DEMO window: --min-window 1s, --max-gap 2s)',
      `npm run teardown -- --env local --dry-run --report ${rel(auditBase)}.json --min-window 1s --max-gap ${DEMO_MAX_GAP}`,
      'npm run teardown -- --env prod (a 7-day window without fallback hits, covered by heartbeats; then cdktf deploy + destroy legacy-prod)',
    );
    const teardown = await runTool(
      'cli/teardown.js',
      ['--env', 'local', '--dry-run', '--report', `${auditBase}.json`, '--min-window', '1s', '--max-gap', DEMO_MAX_GAP],
      env,
    );
    if (teardown.code !== 0) throw new Error(`the teardown gate refused (exit ${teardown.code})`);

    step('Stop everything the demo started', 'SIGTERM to the instances; the rig stopped and its folder removed', '');
    await cleanup();
    fleet = undefined;
    say('photo service, load and local S3 stopped');

    step('Summary', '', '');
    // The legacy bucket held what was seeded and what instances writing to legacy took: the migrator must have found
    // exactly that (the load deletes nothing).
    const migrated = Number(/(\d+) legacy objects/.exec(migrate.out)?.[1] ?? NaN);
    const expected = seeded.entries.length + afterStats.uploadsToLegacy;
    say(
      `legacy objects migrated: ${migrated} = ${PHOTOS} photos + ${odd} odd keys (seeded) + ${afterStats.uploadsToLegacy} photos uploaded through legacy-only and read-both-write-legacy instances (they write to legacy)${migrated === expected ? '' : `: does not add up, ${expected} expected`}`,
    );
    say(
      `uploads straight to the new bucket (dual-read, new-only instances): ${afterStats.uploads - afterStats.uploadsToLegacy}; app requests during the demo: ${afterStats.requests}, failed: ${afterStats.failed}`,
    );
    if (afterStats.failures.length) say(`failures: ${afterStats.failures.join('; ')}`);
    say(
      `reads served from legacy: ${legacyReadsAtMigrated} until the backfill ended (legacy-only, then the fallback), ${afterStats.readsLegacy - legacyReadsAtMigrated} after it`,
    );
    say(
      `three releases of ${INSTANCES} instances each, one instance at a time, ${afterStats.failed ? `with ${afterStats.failed} failed requests` : 'without a failed request'}`,
    );
    say(`reports: ${rel(demoDir)}/ (migrate.csv + .json, audit.json + .md, photo-service.log, checkpoint.sqlite)`);
    say(`time: ${formatDuration((Date.now() - started) / 1000)}`);
    return afterStats.failed || migrated !== expected ? 1 : 0;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

if (isEntry(module)) runCli('demo', main);
