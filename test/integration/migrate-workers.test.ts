/**
 * `npm run migrate -- --env local --workers 2` on the RGW: one command, two worker processes over shards 1/2 and 2/2.
 * It ends with one verdict and one exit code, one report of every key in key order, the two shard checkpoints (each
 * key in the one its hash names, copied once), progress as one stream of summed lines; then `audit --env local` with
 * no flag finds the set and passes. A second run finds everything done. Bad input is refused once, in one line.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { parseCsvLine } from '../../migrator/src/report/batch-csv';
import { planObjects } from '../../migrator/src/seed/plan';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { seedLegacy } from '../../migrator/src/seed/seeder';
import { inShard } from '../../migrator/src/sources/shard';
import { defaultCheckpointPath } from '../../migrator/src/state-paths';
import { runCliScript } from '../helpers/cli';
import { tmpDirPerFile } from '../helpers/tmp';
import { migrateCli } from './helpers/migration';
import { cliEnv, dropMigration, freshMigration, type TestMigration } from './helpers/own-buckets';

jest.setTimeout(300_000);
const tmpDir = tmpDirPerFile('bm-workers-');
const N = 2;

describe(`migrate --workers ${N}: one command, ${N} processes`, () => {
  let m: TestMigration;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  const seeded = new Map<string, string>();
  let run: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    cwd = tmpDir();
    m = await freshMigration('workers', cwd);
    env = cliEnv(m, cwd);
    const objects = planObjects({
      count: 120,
      size: parseSizeSpec('100-16KiB'),
      oddKeys: false,
      seed: 'workers',
      prefix: 'chats/',
    });
    const { entries } = await seedLegacy({
      client: m.legacy,
      codec: m.codec,
      objects,
      seed: 'workers',
      concurrency: 8,
    });
    for (const e of entries) seeded.set(e.key, e.sha256);
    run = await migrateCli(['--env', 'local', '--workers', String(N), '--concurrency', '4', '--progress', 'log'], {
      cwd,
      env,
    }).done;
  });
  afterAll(async () => {
    if (m) await dropMigration(m);
  });

  test('one verdict, one exit code, one report of every key in key order, and how to audit', () => {
    expect({ code: run.code, trace: /\n\s+at /.test(run.stderr) }).toEqual({ code: 0, trace: false });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^migration of local complete: ${seeded.size} legacy objects \\(copied ${seeded.size}\\); this run: ${seeded.size} objects in [\\d.]+ s \\(${N} workers\\)$`,
      ),
    );
    expect(run.stdout).toContain(
      `checkpoint: ${defaultCheckpointPath('local', '.', { index: 1, count: N })}, ${defaultCheckpointPath('local', '.', { index: 2, count: N })}\n`,
    );
    expect(lines[lines.length - 1]).toBe(`audit: npm run audit -- --env local --shards ${N}`);
    const csv = /^report: (\S+\.csv) and (\S+\.json)$/m.exec(run.stdout)!;
    const rows = fs.readFileSync(path.join(cwd, csv[1]), 'utf8').trim().split('\n').map(parseCsvLine);
    expect(rows.map((r) => r[1])).toEqual([...seeded.keys()].sort());
    expect(rows.every((r) => r[3] === 'succeeded')).toBe(true);
    const json = JSON.parse(fs.readFileSync(path.join(cwd, csv[2]), 'utf8'));
    expect(json).toMatchObject({
      workers: N,
      complete: true,
      exitCode: 0,
      run: { processed: { copied: seeded.size }, listingComplete: true },
    });
    expect(json.shardReports).toHaveLength(N);
    for (const r of json.shardReports as string[])
      expect(JSON.parse(fs.readFileSync(path.join(cwd, r), 'utf8')).shard).toMatch(/^[12]\/2$/);
  });

  test('each key was copied once, in the shard its hash names', () => {
    let copied = 0;
    for (let index = 1; index <= N; index++) {
      const cp = Checkpoint.openReadOnly(path.join(cwd, defaultCheckpointPath('local', '.', { index, count: N })));
      try {
        expect(cp.identity()).toMatchObject({ shard: `${index}/${N}` });
        copied += cp.counts().copied.count;
        for (const row of cp.rows()) {
          expect({ key: row.key, inItsShard: inShard(row.key, { index, count: N }), sha: row.plaintextSha256 }).toEqual(
            { key: row.key, inItsShard: true, sha: seeded.get(row.key) },
          );
        }
      } finally {
        cp.close();
      }
    }
    expect(copied).toBe(seeded.size);
  });

  test("progress is one stream: summed progress lines, no worker's own", () => {
    const progress = run.stderr
      .split('\n')
      .filter((l) => l.includes('"event":"progress"'))
      .map((l) => JSON.parse(l));
    // The run may finish before the first line is due on a fast machine; every line there is the sum over the workers.
    for (const p of progress) expect(p.total).toBeLessThanOrEqual(seeded.size);
    expect(run.stderr.split('\n').filter((l) => l.includes('"worker"') && l.includes('"event":"progress"'))).toEqual(
      [],
    );
  });

  test('the audit with no flag finds the set and passes; a rerun finds everything done', async () => {
    const audit = await runCliScript('audit', ['--env', 'local'], { cwd, env });
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(new RegExp(`^audit of local \\(${N} shards\\) PASSED: ${seeded.size} legacy keys`));
    const again = await migrateCli(['--env', 'local', '--concurrency', '4', '--progress', 'log'], { cwd, env }).done; // default: the N on disk
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      new RegExp(
        `^migration of local complete: ${seeded.size} legacy objects .*this run: 0 objects in [\\d.]+ s \\(${N} workers\\)`,
      ),
    );
  });

  test('bad input is refused once, in one line, exit 2, nothing written', async () => {
    const before = fs.readdirSync(path.join(cwd, '.bucketmove', 'local', 'reports')).length;
    const refused = await migrateCli(['--env', 'local', '--workers', String(N)], {
      cwd,
      env: { ...env, LEGACY_FERNET_KEYS: 'not-a-key' },
    }).done;
    expect({ code: refused.code, stdout: refused.stdout }).toEqual({ code: 2, stdout: '' });
    expect(refused.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^migrate: codec\.keys: key 1 of 1 is not a Fernet key/);
    expect(fs.readdirSync(path.join(cwd, '.bucketmove', 'local', 'reports')).length).toBe(before);
  });
});
