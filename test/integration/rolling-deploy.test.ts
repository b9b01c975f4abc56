/**
 * Zero downtime through a rolling deploy (issue 19), on the rig: three photo service instances (child processes, the
 * reference service wired from the environment; its esbuild bundle, which restarts in about a second) behind a
 * round-robin front (helpers/round-robin-front.ts), a load of reads, uploads, new versions and deletes through the
 * front, and the runbook's whole sequence, each switch a config change made one instance at a time (drained by the
 * front, stopped with SIGTERM, started with the next PHOTO_STORE_MODE, put back):
 *
 *   legacy-only -> read-both-write-legacy -> dual-read -> backfill (`npm run migrate`) -> audit (`npm run audit`)
 *   -> new-only -> audit again, and the teardown gate (`npm run teardown -- --dry-run`)
 *
 * While a switch is half done, each adjacent pair is also driven on purpose: cases pinned to one instance of each mode
 * (write through one, read through both; overwrite, delete, and write again after a delete, either way round).
 *
 * What "the latest write" means: the load client runs the operations on one key one after the other (helpers/
 * load-client.ts), so a read is sent only once the write or delete before it on that key was acknowledged, and must
 * return exactly that write's bytes, or 404 after a delete; no read here is concurrent with a write of its key.
 * Asserted: no request failed (the front forwarded every one; every answer was the expected status); every read
 * returned the latest acknowledged write or a 404 for a deleted photo; a watcher keeps reading every deleted photo
 * through the front for the whole run, so none is served again at any moment; no write of the app was lost (at the
 * end the new bucket alone, read by new-only instances and directly, holds every photo's latest bytes); the migrator,
 * both audits and the gate passed; no read fell back after the backfill.
 *
 * Figures per phase (requests, p50/p99) are printed; BUCKETMOVE_BENCH_WRITE=1 (`npm run bench:rolling-deploy`) also
 * writes them to BENCHMARKS.md. Nothing here asserts on time.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { runContextLines, writeSection } from '../../migrator/bench/benchmarks-md';
import { isTombstone } from '../../migrator/src/objects/provenance';
import { countFallbackHitsInFile } from '../../migrator/src/store/fallback-events';
import { planObjects } from '../../migrator/src/seed/plan';
import { seedLegacy } from '../../migrator/src/seed/seeder';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { isNoSuchKey } from '../../migrator/src/aws/errors';
import type { StoreMode } from '../../migrator/src/store/modes';
import { runCliScript } from '../helpers/cli';
import { tmpDirPerFile } from '../helpers/tmp';
import { LoadClient, percentile, planOps, type Expected, type Sample } from './helpers/load-client';
import { dropMigration, freshMigration, type TestMigration } from './helpers/own-buckets';
import { startPhotoService, storeEnv, type RunningService } from './helpers/photo-service';
import { startFront, type Front } from './helpers/round-robin-front';

const SEED = 'rolling';
const PHOTOS = 48;
const INSTANCES = 3;
const WORKERS = 4;
/** Each load worker pauses this long between its operations: a steady load, not a flood of a shared 2-core machine. */
const PAUSE_MS = 30;
/** Load operations while the whole fleet runs legacy-only, and after each instance's restart. */
const OPS_AT_START = 100;
const OPS_BETWEEN_RESTARTS = 20;
const MAX_OPS = 40_000;
const MAX_DELETES = 40;
/** A bound on the whole run (the load stops and the test fails past it); not a speed assertion. */
const MAX_SECONDS = 400;
/** The fleet's heartbeat interval, and the largest gap its audits allow (a restart stops one instance of three). */
const HEARTBEAT_MS = 250;
const MAX_GAP = '10s';
/** How long each audit's window runs at least: eight beats of each instance. */
const WINDOW_MS = 8 * HEARTBEAT_MS;

const tmpDir = tmpDirPerFile('bm-rolling-');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => (Number.isNaN(ms) ? '-' : `${ms.toFixed(1)} ms`);
/** A CLI's exit code, and its output only when it failed (so a failure shows why). */
const outcome = (run: { code: number; stdout: string; stderr: string } | undefined) => ({
  code: run?.code,
  output: run?.code === 0 ? '' : `${run?.stdout}\n${run?.stderr}`,
});

jest.setTimeout(540_000);

let m: TestMigration | undefined;
let front: Front | undefined;
const instances: Array<RunningService | undefined> = [];
afterAll(async () => {
  await Promise.all(instances.map((i) => i?.stop()));
  await front?.close();
  if (m) await dropMigration(m);
});

interface Phase {
  readonly name: string;
  readonly start: number;
  end: number;
}

test('a fleet of three switches mode one instance at a time through the whole runbook under load: no failed request, no stale or deleted photo, no lost write', async () => {
  const loadAtStart = os.loadavg()[0];
  const t0 = performance.now();
  const dir = tmpDir();
  m = await freshMigration('rolling', dir);
  const mig = m;

  // The legacy bucket, as the legacy app left it; a few photos are kept for the pinned cases.
  const objects = planObjects({
    count: PHOTOS,
    size: parseSizeSpec('1KiB-24KiB'),
    oddKeys: false,
    seed: SEED,
    prefix: 'chats/',
  });
  const { entries } = await seedLegacy({ client: mig.legacy, codec: mig.codec, objects, seed: SEED, concurrency: 8 });
  const seeded = new Map<string, Expected>(entries.map((e) => [e.key, { sha256: e.sha256, size: e.size }]));
  const forCases = [...seeded.keys()].sort().slice(0, 18);

  // The CLIs (migrate, audit, teardown) as an operator runs them, from a folder with the workspace of these buckets.
  const wsDir = path.join(dir, 'workspaces');
  fs.mkdirSync(wsDir);
  const { file: _file, ...wsJson } = mig.ws;
  fs.writeFileSync(path.join(wsDir, 'local.json'), JSON.stringify(wsJson, null, 2));
  const cliEnv = {
    ...mig.env,
    BUCKETMOVE_WORKSPACES_DIR: wsDir,
    LEGACY_FERNET_KEYS: mig.keys[0],
    BUCKETMOVE_LOG_LEVEL: 'warn',
  };
  const checkpoint = path.join(dir, 'checkpoint.sqlite');

  // The fleet: each instance wired as an app is, from the environment; the tenants' admins reach these buckets.
  front = await startFront(INSTANCES);
  const fleet = front;
  const logs: string[] = [];
  const stops: Array<number | null> = [];
  const start = async (slot: number, mode: StoreMode) => {
    const log = path.join(dir, `instance-${slot}-${logs.length}-${mode}.log`);
    logs.push(log);
    // Beating every 250 ms, so the audit's short window after the backfill is covered as a week of minute beats would
    // be.
    const env = storeEnv({
      mode,
      fernetKeys: mig.keys,
      own: { primary: mig.primary.bucket, legacy: mig.legacy.bucket, keys: mig.env },
      extra: { PHOTO_STORE_HEARTBEAT_MS: String(HEARTBEAT_MS) },
    });
    instances[slot] = await startPhotoService(env, log, { bundled: true });
    fleet.set(slot, instances[slot]!.url, mode);
  };
  await Promise.all(Array.from({ length: INSTANCES }, (_, slot) => start(slot, 'legacy-only')));
  const restart = async (slot: number, mode: StoreMode) => {
    await fleet.drain(slot);
    stops.push(await instances[slot]!.stop());
    instances[slot] = undefined;
    await start(slot, mode);
  };

  // The load, and the watcher that keeps reading every deleted photo.
  const client = new LoadClient(
    front.url,
    SEED,
    planOps({
      seed: SEED,
      legacy: seeded,
      reserved: new Set(forCases),
      newPrefix: 'chats/app/',
      maxOps: MAX_OPS,
      maxDeletes: MAX_DELETES,
    }),
    seeded,
  );
  const phases: Phase[] = [];
  const phase = (name: string) => {
    const now = performance.now();
    if (phases.length) phases[phases.length - 1].end = now;
    phases.push({ name, start: now, end: Infinity });
  };
  let done = 0;
  let finished = false;
  let timedOut = false;
  const untilOps = async (n: number) => {
    const target = done + n;
    while (done < target && !finished && !timedOut) await sleep(20);
  };
  phase('legacy-only');
  const load = client.run(
    WORKERS,
    (d) => {
      done = d;
      if ((performance.now() - t0) / 1000 > MAX_SECONDS) timedOut = true;
      return finished || timedOut;
    },
    PAUSE_MS,
  );
  let watched = 0;
  const watcher = (async () => {
    while (!finished && !timedOut) {
      const deleted = [...client.expected].filter(([, e]) => e === 'deleted').map(([k]) => k);
      for (const key of deleted) {
        await client.check(key);
        watched++;
      }
      await sleep(200);
    }
  })();

  // The cases pinned to one instance of each mode of a pair: `fresh` keys, or photos of the legacy bucket.
  let caseNo = 0;
  let writeNo = 3_000_000;
  const pinned = (slot: number) => `${fleet.url}/_slot/${slot}`;
  const size = () => 2048 + ((writeNo * 7919) % 16384);
  const write = (key: string, slot: number) => client.write(key, writeNo++, size(), pinned(slot));
  const cases = async (modes: string, slots: readonly [number, number]) => {
    const seededKeys = forCases.splice(0, 6);
    const fresh = () => `chats/cases/${modes}/${caseNo++}.jpg`;
    // Each case on a key of its own, all at once (the client runs the operations on one key in order).
    await Promise.all(
      [slots, [slots[1], slots[0]] as const].flatMap(([x, y]) => {
        const readBoth = async (key: string) => {
          await client.check(key, pinned(x));
          await client.check(key, pinned(y));
        };
        const [k1, k2, k4] = [fresh(), fresh(), fresh()];
        const [k3, k5, k6] = seededKeys.splice(0, 3);
        return [
          // write through one, read through both
          write(k1, x).then(() => readBoth(k1)),
          // overwrite through the other
          write(k2, x)
            .then(() => write(k2, y))
            .then(() => readBoth(k2)),
          // a new version of a photo that was in legacy
          write(k3, y).then(() => readBoth(k3)),
          // delete through the other
          write(k4, x)
            .then(() => client.delete(k4, pinned(y)))
            .then(() => readBoth(k4)),
          // delete a photo that was in legacy
          client.delete(k5, pinned(y)).then(() => readBoth(k5)),
          // delete through one, write again through the other
          client
            .delete(k6, pinned(x))
            .then(() => write(k6, y))
            .then(() => readBoth(k6)),
        ];
      }),
    );
  };
  let casesRun = 0;
  /** Switches the fleet to `mode`, one instance at a time; with the first one switched, drives the pair on purpose. */
  const roll = async (from: StoreMode, mode: StoreMode) => {
    phase(`${from} -> ${mode}`);
    for (let slot = 0; slot < INSTANCES; slot++) {
      await restart(slot, mode);
      if (slot === 0) {
        await cases(`${from}+${mode}`, [0, 1]);
        casesRun++;
      }
      await untilOps(OPS_BETWEEN_RESTARTS);
    }
  };

  let migration: Awaited<ReturnType<typeof runCliScript>> | undefined;
  const audits: Array<Awaited<ReturnType<typeof runCliScript>>> = [];
  let gate: Awaited<ReturnType<typeof runCliScript>> | undefined;
  let backfilledAt = Infinity;
  let since = new Date(8.64e15);
  const fallbackLog = path.join(dir, 'fleet.log');
  const audit = async (name: string) => {
    // A window of some beats (the load goes on meanwhile); it ends before the instances' logs are gathered, so the
    // beats up to its end are in them (the audit CLI's own start-up, seconds on a loaded machine, must not show as a
    // gap).
    await sleep(WINDOW_MS);
    const until = new Date();
    await sleep(4 * HEARTBEAT_MS);
    // The fleet's log lines in one file, as a log group gathers them (each instance wrote its own).
    fs.writeFileSync(fallbackLog, logs.map((l) => (fs.existsSync(l) ? fs.readFileSync(l, 'utf8') : '')).join(''));
    const run = await runCliScript(
      'audit',
      [
        '--env',
        'local',
        '--checkpoint',
        checkpoint,
        '--report',
        path.join(dir, name),
        '--fallback-log',
        fallbackLog,
        '--since',
        since.toISOString(),
        '--until',
        until.toISOString(),
        '--max-gap',
        MAX_GAP,
      ],
      { cwd: dir, env: cliEnv, bundled: true },
    );
    audits.push(run);
    return run;
  };

  try {
    await untilOps(OPS_AT_START);
    await roll('legacy-only', 'read-both-write-legacy');
    await roll('read-both-write-legacy', 'dual-read');

    phase('backfill (dual-read)');
    migration = await runCliScript(
      'migrate',
      ['--env', 'local', '--checkpoint', checkpoint, '--report', path.join(dir, 'migrate'), '--concurrency', '8'],
      { cwd: dir, env: cliEnv, bundled: true },
    );
    backfilledAt = performance.now();
    // From here no read may fall back: once the requests that started before the migrator's end have finished.
    await fleet.settled(backfilledAt);
    since = new Date();

    phase('audit (dual-read)');
    const first = await audit('audit-before-new-only');
    expect(outcome(first)).toEqual({ code: 0, output: '' }); // new-only only once the audit passed

    await roll('dual-read', 'new-only');

    // new-only leaves the legacy bucket alone: audit it as it stays, then the gate checks the audit against it.
    phase('audit and gate (new-only)');
    await audit('audit-for-teardown');
    gate = await runCliScript(
      'teardown',
      ['--env', 'local', '--dry-run', '--report', path.join(dir, 'audit-for-teardown.json'), '--min-window', '1s'],
      { cwd: dir, env: cliEnv, bundled: true },
    );
  } finally {
    finished = true;
    phases[phases.length - 1].end = performance.now();
  }
  const opsDone = await load;
  await watcher;

  expect(timedOut).toBe(false);
  expect(opsDone).toBeLessThan(MAX_OPS); // the load ran to the end of the sequence
  expect(casesRun).toBe(3);
  expect(outcome(migration)).toEqual({ code: 0, output: '' });
  expect(migration?.stdout).toMatch(/^migration of local complete: /);
  expect(audits.map((a) => ({ code: a.code, verdict: a.stdout.split('\n')[0] }))).toEqual([
    {
      code: 0,
      verdict: expect.stringMatching(
        /^audit of local PASSED: .*, 0 fallback hits in .*, covered by [\d,]+ heartbeats from [3-9] processes, largest gap/,
      ),
    },
    {
      code: 0,
      verdict: expect.stringMatching(
        /^audit of local PASSED: .*, 0 fallback hits in .*, covered by [\d,]+ heartbeats from [3-9] processes, largest gap/,
      ),
    },
  ]);
  expect(outcome(gate)).toEqual({ code: 0, output: '' });
  expect(gate?.stdout).toContain('dry run: the evidence passes.');

  // No failed request, no read of anything but the latest write (or a 404 after a delete), deleted photos never back.
  expect(front.errors).toEqual([]);
  expect(client.failures.slice(0, 10)).toEqual([]);
  expect(stops).toEqual(Array.from({ length: 3 * INSTANCES }, () => 0)); // each instance stopped cleanly at each switch
  expect(watched).toBeGreaterThan(0);

  // No write lost: new-only instances (the new bucket alone) serve every photo's latest bytes, and the new bucket
  // itself holds them; a deleted photo is nothing there, or its tombstone.
  const keys = [...client.expected.keys()].sort();
  for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map((k) => client.check(k)));
  expect(client.failures.slice(0, 10)).toEqual([]);
  const inNew = async (key: string): Promise<Expected | 'tombstone' | undefined> => {
    try {
      const out = await mig.primary.s3.send(new GetObjectCommand({ Bucket: mig.primary.bucket, Key: key }));
      const body = Buffer.from(await out.Body!.transformToByteArray());
      return isTombstone(out.Metadata) ? 'tombstone' : { sha256: sha256(body), size: body.length };
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw err;
    }
  };
  const lost: string[] = [];
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(
      keys.slice(i, i + 16).map(async (key) => {
        const want = client.expected.get(key)!;
        const got = await inNew(key);
        const ok =
          want === 'deleted'
            ? got === undefined || got === 'tombstone'
            : typeof got === 'object' && got.sha256 === want.sha256;
        if (!ok)
          lost.push(`${key}: the new bucket holds ${JSON.stringify(got)}, the app's latest is ${JSON.stringify(want)}`);
      }),
    );
  }
  expect(lost).toEqual([]);

  // The fallback ran before the backfill (the fleet's fallback-hit lines: read-both-write-legacy and dual-read reads of
  // legacy photos), and no read that started after the backfill was served from legacy.
  expect((await countFallbackHitsInFile(fallbackLog, { until: since })).hits).toBeGreaterThan(20);
  expect(client.samples.filter((s) => s.at - s.ms > backfilledAt && s.kind === 'read-fallback')).toEqual([]);

  // The figures, per phase.
  const rows = phases.map((p) => {
    const xs = client.samples.filter((s) => s.at >= p.start && s.at < p.end);
    const ms = xs.map((s) => s.ms);
    const n = (k: Sample['kind'][]) => xs.filter((s) => k.includes(s.kind)).length;
    return {
      name: p.name,
      seconds: (p.end - p.start) / 1000,
      requests: xs.length,
      reads: n(['read-direct', 'read-fallback', 'read-missing']),
      fromLegacy: n(['read-fallback']),
      writes: n(['write']),
      deletes: n(['delete']),
      p50: percentile(ms, 50),
      p99: percentile(ms, 99),
    };
  });
  const table = [
    '| phase | seconds | requests | reads (from legacy) | writes | deletes | p50 | p99 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.seconds.toFixed(1)} | ${r.requests} | ${r.reads} (${r.fromLegacy}) | ${r.writes} | ${r.deletes} | ${fmt(r.p50)} | ${fmt(r.p99)} |`,
    ),
  ];
  const total = `${client.requests} requests in all (${opsDone} load operations, ${watched} watcher reads of deleted photos, the pinned cases of 3 pairs, ${keys.length} final checks), ${client.failures.length + front.errors.length} failed, in ${((performance.now() - t0) / 1000).toFixed(0)} s`;
  console.log(`rolling deploy test\n${table.join('\n')}\n${total}`);

  if (process.env.BUCKETMOVE_BENCH_WRITE === '1') {
    writeSection(
      'rolling-deploy',
      [
        '## Zero downtime through a rolling deploy',
        '',
        `Command: \`npm run bench:rolling-deploy\` (test/integration/rolling-deploy.test.ts on the local RGW rig: ${PHOTOS} legacy photos of 1-24 KiB`,
        `(Fernet); ${INSTANCES} photo service instances (child processes, the service's esbuild bundle) behind a round-robin front; ${WORKERS} load clients, each`,
        `pausing ${PAUSE_MS} ms between operations (reads, uploads, new versions, deletes), and a watcher re-reading every deleted photo. Each switch`,
        'drains one instance at the front, stops it and starts it with the next PHOTO_STORE_MODE; the migrate, audit and teardown (dry run) CLIs run in',
        'their phases.',
        ...runContextLines(loadAtStart),
        '',
        ...table,
        '',
        `${total}.`,
        'A phase named "a -> b" lasts while its three instances restart one by one, with pinned requests through one instance of each mode;',
        'the latencies are mostly queueing: the clients, the front, RGW, the instances and the CLIs share the cores.',
      ].join('\n'),
    );
  }
});
