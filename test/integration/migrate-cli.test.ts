/**
 * The migrate CLI as a user runs it: killed with SIGKILL at several points and rerun, stopped with Ctrl-C (exit 130),
 * stopped by --limit (exit 3), and given bad input (one line on stderr, exit 2, nothing written).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { createSideClient } from '../../migrator/src/aws/clients';
import { createCodec } from '../../migrator/src/codec';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { DONE_STATES } from '../../migrator/src/objects/object-states';
import { parseCsvLine } from '../../migrator/src/report/batch-csv';
import { planObjects } from '../../migrator/src/seed/plan';
import { seedLegacy } from '../../migrator/src/seed/seeder';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import type { ManifestEntry } from '../../migrator/src/seed/manifest';
import { tmpDirPerFile } from '../helpers/tmp';
import {
  fernetKey,
  getNew,
  listBucketKeys,
  listKeys,
  migrateCli,
  multipartUploadsUnder,
  sha256,
  writeWorkspace,
} from './helpers/migration';
import { rigState, s3As, testWorkspace, uniqueKey } from './helpers/rig';

const tmp = tmpDirPerFile('bm-cli-');

async function seed(prefix: string, count: number, size: string, seedName: string): Promise<ManifestEntry[]> {
  const ws = testWorkspace((w) => (w.migration.credentials = 'static'));
  const writer = createSideClient(ws, 'legacy', { env: {} });
  try {
    const objects = planObjects({ count, size: parseSizeSpec(size), oddKeys: false, seed: seedName, prefix });
    return (
      await seedLegacy({
        client: writer,
        codec: createCodec(ws.codec, [fernetKey()], __dirname),
        objects,
        seed: seedName,
        concurrency: 16,
      })
    ).entries;
  } finally {
    writer.destroy();
  }
}

interface Peek {
  rows: number;
  done: number;
  uploads: number;
  /**
   * Attempts so far at keys under `large` (objects above the part size), and how many of them are started, not done.
   */
  largeAttempts: number;
  largeInFlight: number;
}

/** Reads the checkpoint a running migrator writes (WAL: readers do not block it). */
function peek(file: string, large?: string): Peek {
  const none = { rows: 0, done: 0, uploads: 0, largeAttempts: 0, largeInFlight: 0 };
  if (!fs.existsSync(file)) return none;
  try {
    const cp = Checkpoint.openReadOnly(file);
    try {
      const counts = cp.counts();
      const rows = Object.values(counts).reduce((n, c) => n + c.count, 0);
      const done = DONE_STATES.reduce((n, s) => n + counts[s].count, 0);
      const big = large ? [...cp.rows()].filter((r) => r.key.startsWith(large)) : [];
      const largeInFlight = big.filter((r) => r.state === 'pending' && r.attempts > 0).length;
      return {
        rows,
        done,
        uploads: cp.leftoverUploads().length,
        largeAttempts: big.reduce((n, r) => n + r.attempts, 0),
        largeInFlight,
      };
    } finally {
      cp.close();
    }
  } catch {
    return none; // not created yet
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The migrate CLI over `prefix` (`migrate(more)`: with more flags than `flags`), with a checkpoint (`cp`), report and
 * workspace folder of its own.
 */
function cliRun(prefix: string, flags: string[] = []) {
  const dir = tmp();
  const wsDir = tmp();
  writeWorkspace(wsDir);
  const cp = path.join(dir, 'cp.sqlite');
  const args = [
    '--env',
    'local',
    '--prefix',
    prefix,
    '--checkpoint',
    cp,
    '--report',
    path.join(dir, 'report'),
    '--progress',
    'log',
    ...flags,
  ];
  return {
    dir,
    cp,
    migrate: (more: string[] = []) => migrateCli([...args, ...more], { cwd: dir, workspacesDir: wsDir }),
  };
}

/** A prefix of `count` seeded objects for one test, and the migrate CLI over it (cliRun). */
async function cliCase(name: string, count: number, size: string, flags: string[] = []) {
  const prefix = `${uniqueKey(name)}/`;
  const entries = await seed(prefix, count, size, name);
  return { prefix, entries, ...cliRun(prefix, flags) };
}

describe('killed with SIGKILL at several points, then rerun', () => {
  test('everything is migrated once, nothing partial is left, the report is clean', async () => {
    const prefix = `${uniqueKey('cli-crash')}/`;
    const big = await seed(`${prefix}a-big/`, 2, '24MiB', 'crash-big');
    const small = await seed(`${prefix}b-small/`, 200, '1KiB-200KiB', 'crash-small');
    const all = [...big, ...small];
    const { dir, cp, migrate } = cliRun(prefix, ['--concurrency', '4', '--part-size', '5']);
    // Each point is judged on this run's own progress (`before`: what earlier runs left), so a fast run that got past a
    // later point before an earlier kill still gets a run of its own killed.
    const large = `${prefix}a-big/`;
    const killPoints: Array<[string, (before: Peek) => boolean]> = [
      ['listing recorded, copying barely started', () => peek(cp).rows > 0],
      // On RGW large objects go as single conditional PUTs (it ignores If-None-Match on CompleteMultipartUpload; the
      // run's probe finds that): a PUT cut by the kill leaves nothing, and the next run copies the object again.
      [
        'a large object being copied by this run',
        (before) => {
          const now = peek(cp, large);
          return now.largeAttempts > before.largeAttempts && now.largeInFlight > 0;
        },
      ],
      ['120 objects done', (before) => peek(cp).done >= Math.max(120, before.done + 1)],
    ];
    for (const [what, when] of killPoints) {
      const before = peek(cp, large);
      const run = migrate();
      await until(() => when(before), what);
      run.child.kill('SIGKILL');
      const res = await run.done;
      expect(res.signal).toBe('SIGKILL');
    }
    expect(peek(cp).done).toBeLessThan(all.length);

    const final = await migrate().done;
    expect(final.stderr).not.toMatch(/\n\s+at /);
    expect(final.code).toBe(0);
    expect(final.stdout).toMatch(/^migration of local complete: 202 legacy objects/);
    // The last lines say how large objects were written, and why (the probe's finding on this server).
    expect(final.stdout).toMatch(
      /\nlarge objects \(above the part size\): one streamed PutObject with If-None-Match each, in SigV4 signed chunks where read once, because the new bucket ignores If-None-Match on CompleteMultipartUpload \(probed at start\)/,
    );
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')).largeObjects).toMatchObject({
      path: 'single-put',
      onePass: true,
      probe: { completeMultipartUpload: 'ignored', signedChunks: 'verified', cleanedUp: true },
    });

    const rows = fs.readFileSync(path.join(dir, 'report.csv'), 'utf8').trim().split('\n').map(parseCsvLine);
    expect(rows).toHaveLength(all.length);
    expect(rows.every((r) => r[3] === 'succeeded')).toBe(true);
    const checkpoint = Checkpoint.openReadOnly(cp);
    const totals = checkpoint.counts();
    expect(totals.copied.count + totals['already-migrated'].count).toBe(all.length);
    // Only what was in flight at a kill is found already written on the rerun.
    expect(totals['already-migrated'].count).toBeLessThanOrEqual(3 * 6);
    expect(checkpoint.leftoverUploads()).toEqual([]);
    expect(checkpoint.countUnrechecked()).toBe(0);
    expect(checkpoint.runs()).toHaveLength(4);
    checkpoint.close();

    expect(await multipartUploadsUnder(prefix)).toBe(0);
    expect((await listKeys('primary', prefix)).sort()).toEqual(all.map((e) => e.key).sort());
    for (const e of all) expect(sha256((await getNew(e.key))!.body)).toBe(e.sha256);
  }, 240_000);
});

describe('Ctrl-C', () => {
  test('stops cleanly (exit 130, in-flight objects finish, the checkpoint and report are consistent) and a rerun completes', async () => {
    const { prefix, entries, dir, cp, migrate } = await cliCase('cli-int', 80, '1KiB-300KiB', ['--concurrency', '2']);
    const run = migrate();
    await until(() => peek(cp).done >= 10, '10 objects done');
    run.child.kill('SIGINT');
    const res = await run.done;
    expect(res.code).toBe(130);
    expect(res.stdout).toMatch(/NOT complete: \d+ of 80 objects not migrated .*interrupted/);
    const after = peek(cp);
    expect(after.uploads).toBe(0);
    expect(after.done).toBeLessThan(80);
    const rows = fs.readFileSync(path.join(dir, 'report.csv'), 'utf8').trim().split('\n').map(parseCsvLine);
    expect(rows.filter((r) => r[3] === 'succeeded')).toHaveLength(after.done);
    expect(rows.filter((r) => r[4] === 'NotAttempted')).toHaveLength(80 - after.done);
    // What was recorded as done is really there.
    const inNew = new Set(await listKeys('primary', prefix));
    expect(rows.filter((r) => r[3] === 'succeeded').every((r) => inNew.has(decodeURIComponent(r[1])))).toBe(true);

    const rerun = await migrate().done;
    expect(rerun.code).toBe(0);
    expect((await listKeys('primary', prefix)).length).toBe(entries.length);
  }, 120_000);
});

describe('--limit', () => {
  test('stops after that many objects with exit 3 (more to do) and says how many remain; the rerun finishes with exit 0', async () => {
    const { prefix, entries, migrate } = await cliCase('cli-limit', 12, '1KiB');
    const first = await migrate(['--limit', '5']).done;
    expect(first.code).toBe(3);
    expect(first.stdout).toMatch(
      /^migration of local NOT complete: 7 of 12 objects not migrated \(7 not attempted yet\)/,
    );
    expect((await listKeys('primary', prefix)).length).toBe(5);
    const rest = await migrate().done;
    expect(rest.code).toBe(0);
    expect((await listKeys('primary', prefix)).length).toBe(entries.length);
  }, 120_000);
});

describe('bad input: one line, exit 2, nothing written', () => {
  let wsDir: string;
  beforeAll(() => {
    wsDir = tmp();
    writeWorkspace(wsDir);
  });

  async function refused(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const cwd = tmp();
    const res = await migrateCli(args, { cwd, workspacesDir: wsDir, env }).done;
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^migrate: /);
    expect(fs.readdirSync(cwd)).toEqual([]);
    return lines[0];
  }

  test('an unknown flag', async () => {
    expect(await refused(['--env', 'local', '--concurency', '4'])).toBe(
      'migrate: Unknown argument: concurency; see --help',
    );
  });
  test('a bad value', async () => {
    expect(await refused(['--env', 'local', '--concurrency', '0'])).toMatch(
      /--concurrency must be a whole number from 1 to 256 \(got 0\)/,
    );
    expect(await refused(['--env', 'local', '--part-size', '2'])).toMatch(/--part-size must be a whole number from 5/);
  });
  test('a missing --env and an unknown env', async () => {
    expect(await refused([])).toMatch(/Missing required argument: env/);
    expect(await refused(['--env', 'prdo'])).toMatch(
      /unknown env "prdo": there is no .*prdo\.json \(known envs: local\)/,
    );
  });
  test('the codec keys are not set', async () => {
    expect(await refused(['--env', 'local'], { LEGACY_FERNET_KEYS: '' })).toMatch(
      /codec\.keys: environment variable LEGACY_FERNET_KEYS is not set/,
    );
  });
  test('static credentials half set', async () => {
    const dir = tmp();
    writeWorkspace(dir, (w) => (w.migration.credentials = 'static'));
    const cwd = tmp();
    const res = await migrateCli(['--env', 'local'], {
      cwd,
      workspacesDir: dir,
      env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: '' },
    }).done;
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toMatch(/^migrate: missing AWS_SECRET_ACCESS_KEY: the primary side uses static keys/);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
  test('a new bucket that ignores If-None-Match even on PutObject (RGW, versioned): refused by the probe, nothing copied', async () => {
    const admin = s3As('primaryAdmin');
    const bucket = `bm-versioned-${process.pid}`;
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const dir = tmp();
    writeWorkspace(dir, (w) => {
      w.migration.credentials = 'static';
      w.primary.bucket = bucket;
    });
    const keys = rigState().principals.primaryAdmin;
    const cwd = tmp();
    const res = await migrateCli(['--env', 'local'], {
      cwd,
      workspacesDir: dir,
      env: { AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey },
    }).done;
    expect([res.code, res.stdout]).toEqual([2, '']);
    expect(res.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^migrate: the new bucket "${bucket}" does not refuse a PutObject with If-None-Match: \\* over an existing key \\(probed at \\.bucketmove/probe/[0-9a-f-]+\\), .*use an unversioned bucket there$`,
        ),
      ),
    ]);
    expect(fs.readdirSync(cwd)).toEqual([]);
    // The probe's key is deleted again (a delete marker over its versions: no listing shows it).
    expect(await listBucketKeys(admin, bucket)).toEqual([]);
  }, 60_000);
  test('an unreachable endpoint', async () => {
    const state = JSON.parse(fs.readFileSync(process.env.BUCKETMOVE_RIG_STATE!, 'utf8'));
    const file = path.join(tmp(), 'state.json');
    fs.writeFileSync(file, JSON.stringify({ ...state, endpoint: 'http://127.0.0.1:9' }), { mode: 0o600 });
    const line = await refused(['--env', 'local'], { BUCKETMOVE_RIG_STATE: file });
    expect(line).toMatch(/the legacy side: .*(ECONNREFUSED|connect)/);
    expect(line).not.toContain(rigState().principals.migrator.secretAccessKey);
  }, 60_000);
});
