/**
 * npm run demo
 *
 * The whole migration in about a minute, on this machine: a local S3 with two accounts, encrypted legacy photos, the
 * app serving them in dual-read while the migrator backfills, the fallback hits falling to zero, the audit, and the
 * teardown gate in dry-run. Every step prints the command it runs and the one a user runs on AWS. Everything it starts
 * is stopped at the end (also on failure or Ctrl-C); its reports stay in .bucketmove/demo/<time>/.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadWorkspace, repoRoot } from '../../../workspaces/load';
import { startRig, stopRig } from '../../rig/rig';
import type { RigState } from '../../rig/state';
import { createSideClient } from '../aws/clients';
import { createCodec } from '../codec';
import { generateFernetKey } from '../codec/fernet';
import { runCli } from '../cli/run-cli';
import { formatDuration } from '../migrate/progress';
import { fileStamp } from '../report/files';
import { planObjects } from '../seed/plan';
import { seedLegacy } from '../seed/seeder';
import { parseSizeSpec } from '../seed/sizes';
import { LightLoad } from './load';

const ROOT = repoRoot();
const DIST = path.join(ROOT, 'dist', 'migrator', 'src');
const PHOTOS = Number(process.env.DEMO_PHOTOS ?? 300);
/**
 * The demo's evidence window is seconds long, not the 7 days a real audit asks for, so its service beats every 250 ms
 * (not every minute) and its audit and gate allow a 2 s gap (not 15 minutes). Said so where it is used.
 */
const DEMO_HEARTBEAT_MS = 250;
const DEMO_MAX_GAP = '2s';
const tty = Boolean(process.stdout.isTTY);
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);

let stepNo = 0;
const STEPS = 8;
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
    const child = spawn(process.execPath, [path.join(DIST, script), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d.toString().replace(/^(?=.)/gm, '  | '));
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

interface Service {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** The reference photo service, wired as an app is: the store's variables, the app users' keys. */
async function startService(state: RigState, fernetKey: string, logFile: string): Promise<Service> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PORT: '0',
    PHOTO_STORE_MODE: 'dual-read',
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
  const child = spawn(process.execPath, [path.join(DIST, 'service', 'main.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(logFile);
  child.stdout!.pipe(log);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the photo service did not start in 20 s: ${stderr.trim()}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      const line = seen.split('\n').find((l) => l.includes('"service.listening"'));
      if (line) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`);
      }
    });
    child.once('exit', (code) => reject(new Error(`the photo service exited (${code}): ${stderr.trim()}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => log.end(() => r())));
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function fallbackHits(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  return ((await res.json()) as { fallbackHits: number }).fallbackHits;
}

async function main(): Promise<number> {
  const started = Date.now();
  const ws = loadWorkspace('local');
  const demoDir = path.join(ROOT, '.bucketmove', 'demo', fileStamp());
  fs.mkdirSync(demoDir, { recursive: true });
  const rigDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-demo-rig-'));
  const statePath = path.join(rigDir, 'state.json');
  const serviceLog = path.join(demoDir, 'photo-service.log');
  const rel = (p: string) => path.relative(ROOT, p);
  let service: Service | undefined;
  let load: LightLoad | undefined;
  const cleanup = async () => {
    await load?.stop();
    await service?.stop();
    await stopRig(statePath).catch(() => undefined);
    fs.rmSync(rigDir, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  process.stdout.write(`${bold('bucketmove demo')}: move ${PHOTOS} encrypted photos from a legacy account to the primary one, with the app serving them throughout.\n`);
  try {
    step('Two accounts, their buckets, users and migration roles', 'npm run rig -- start (Ceph RGW on 127.0.0.1, tenants "legacy" and "primary")', 'cdktf deploy primary-prod legacy-prod');
    fs.mkdirSync(path.join(rigDir, 'rig'));
    const { state } = await startRig({ workspace: ws, statePath, dir: path.join(rigDir, 'rig'), ownerPid: process.pid });
    say(`local S3 at ${state.endpoint}, ready in ${state.measured?.startSeconds.toFixed(1)} s`);
    say(`from workspaces/local.json: buckets ${state.buckets.legacy} (legacy) and ${state.buckets.primary} (new); the app users; the reader role`);
    say(`in legacy and the writer role in primary, with the rights of stacks/perms.ts. Terraform cannot apply to RGW, so the`);
    say(`rig creates the equivalent of the stacks with the SDK (the stacks themselves: npm run synth; tests plan them).`);
    const env: NodeJS.ProcessEnv = { ...process.env, BUCKETMOVE_RIG_STATE: statePath };

    step(`The legacy app's photos: ${PHOTOS}, Fernet-encrypted`, `npm run seed-legacy -- --env local --count ${PHOTOS}`, '(already there: your legacy bucket)');
    const fernetKey = generateFernetKey(); // in memory and in the children's environment only
    env.LEGACY_FERNET_KEYS = fernetKey;
    const writer = createSideClient({ ...ws, migration: { ...ws.migration, credentials: 'static' } }, 'legacy', { rigState: state, env: {} });
    const objects = planObjects({ count: PHOTOS, size: parseSizeSpec('20KiB-600KiB'), oddKeys: true, seed: 'demo', prefix: 'chats/' });
    const seeded = await seedLegacy({ client: writer, codec: createCodec(ws.codec, [fernetKey], path.dirname(ws.file)), objects, seed: 'demo', concurrency: 16 });
    writer.destroy();
    const photos = new Map(seeded.entries.map((e) => [e.key, e.sha256]));
    say(`${seeded.entries.length} objects (${objects.filter((o) => o.odd).length} with odd keys), ${(seeded.storedBytes / 2 ** 20).toFixed(1)} MiB stored, in ${seeded.seconds.toFixed(1)} s`);

    step('Expand: the app reads new, then legacy on 404 only; writes go to new', 'npm run photo-service with PHOTO_STORE_MODE=dual-read, and a light load', 'deploy the app with PHOTO_STORE_MODE=dual-read');
    service = await startService(state, fernetKey, serviceLog);
    load = new LightLoad({ url: service.url, photos, clients: 3, pauseMs: 20 });
    load.start();
    await new Promise((r) => setTimeout(r, 2500));
    say(`photo service at ${service.url}; after 2.5 s: ${load.stats.requests} requests, ${load.stats.readsFallback} reads fell back to legacy, ${load.stats.failed} failed`);

    step('Backfill: decrypt-copy every legacy object, never over what the app wrote', 'npm run migrate -- --env local', 'npm run migrate -- --env prod (assumes the reader and writer roles)');
    const hitsPerSecond: number[] = [];
    let last = await fallbackHits(service.url);
    const ticker = setInterval(() => {
      void fallbackHits(service!.url).then((n) => {
        hitsPerSecond.push(n - last);
        last = n;
      });
    }, 1000);
    const checkpoint = path.join(demoDir, 'checkpoint.sqlite');
    const migrate = await runTool('cli/migrate.js', ['--env', 'local', '--checkpoint', checkpoint, '--report', path.join(demoDir, 'migrate'), '--concurrency', '8'], {
      ...env,
      ...(process.stderr.isTTY ? {} : { BUCKETMOVE_LOG_LEVEL: 'warn' }),
    });
    if (migrate.code !== 0) throw new Error(`the migrator exited ${migrate.code}`);
    const migratedAt = new Date();
    await new Promise((r) => setTimeout(r, 3200));
    clearInterval(ticker);
    say(`fallback hits per second, during and after the backfill: ${hitsPerSecond.join(' ')}`);

    step(
      'Verify: every legacy key in the new bucket with its size and SHA-256; zero fallback hits since, in a log the heartbeats show covers it',
      `npm run audit -- --env local --fallback-log <the service log> --since <the backfill's end> --max-gap ${DEMO_MAX_GAP}`,
      'npm run audit -- --env prod (fallback hits and heartbeats from CloudWatch Logs Insights, over the last 7 days, no gap over 15m)',
    );
    await load.stop();
    const afterStats = { ...load.stats };
    load = undefined;
    say(
      `a DEMO window: from the end of the backfill (${((Date.now() - migratedAt.getTime()) / 1000).toFixed(1)} s ago) to the audit, the service beating every ${DEMO_HEARTBEAT_MS} ms, gaps up to ${DEMO_MAX_GAP}; a real audit covers 7 days (--since 7d) of minute beats, gaps up to 15m (the defaults)`,
    );
    const auditBase = path.join(demoDir, 'audit');
    const audit = await runTool(
      'cli/audit.js',
      ['--env', 'local', '--checkpoint', checkpoint, '--report', auditBase, '--fallback-log', serviceLog, '--since', migratedAt.toISOString(), '--max-gap', DEMO_MAX_GAP, '--progress', 'log'],
      { ...env, BUCKETMOVE_LOG_LEVEL: 'warn' },
    );
    if (audit.code !== 0) throw new Error(`the audit did not pass (exit ${audit.code}); see ${rel(auditBase)}.md`);

    step(
      'Contract: the teardown gate, dry run (on the DEMO window: --min-window 1s, --max-gap 2s)',
      `npm run teardown -- --env local --dry-run --report ${rel(auditBase)}.json --min-window 1s --max-gap ${DEMO_MAX_GAP}`,
      'npm run teardown -- --env prod (a 7-day window without fallback hits, covered by heartbeats; then cdktf deploy + destroy legacy-prod)',
    );
    const teardown = await runTool('cli/teardown.js', ['--env', 'local', '--dry-run', '--report', `${auditBase}.json`, '--min-window', '1s', '--max-gap', DEMO_MAX_GAP], env);
    if (teardown.code !== 0) throw new Error(`the teardown gate refused (exit ${teardown.code})`);

    step('Stop everything the demo started', 'SIGTERM to the service; the rig stopped and its folder removed', '');
    await cleanup();
    service = undefined;
    say('photo service, load and local S3 stopped');

    step('Summary', '', '');
    say(`photos migrated: ${seeded.entries.length}; app requests during the demo: ${afterStats.requests} (${afterStats.uploads} uploads), failed: ${afterStats.failed}`);
    if (afterStats.failures.length) say(`failures: ${afterStats.failures.join('; ')}`);
    say(`fallback reads: ${afterStats.readsFallback} before and during the backfill, 0 after it (the DEMO audit window, from ${migratedAt.toISOString()}: seconds, not days)`);
    say(`reports: ${rel(demoDir)}/ (migrate.csv + .json, audit.json + .md, photo-service.log, checkpoint.sqlite)`);
    say(`time: ${formatDuration((Date.now() - started) / 1000)}`);
    return afterStats.failed ? 1 : 0;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

if (require.main === module) runCli('demo', main);
