/**
 * Sharded runs on the RGW: 4 migrator processes (`npm run migrate -- --env local --shard i/4`), started together from
 * one folder, each with its own default checkpoint, copy a legacy bucket of a few hundred objects (the seeder's odd
 * keys among them) into a new bucket, through a proxy that counts their writes. Each key is copied exactly once: every
 * legacy key is in exactly one shard's checkpoint (the one its hash names), the copies add up to the number of keys, no
 * shard met another's copy (nothing already migrated or kept), every key got exactly one write (PutObject or
 * CompleteMultipartUpload), and every key in the new bucket has provenance that matches what was seeded. (The new
 * bucket is not versioned: RGW ignores If-None-Match on a versioned bucket, and the migrator's start-up probe refuses
 * such a bucket.) Then the audit over the 4 checkpoints passes (`--shards 4`, or `--checkpoint` per shard), the gate
 * accepts its report, and the audit with a shard missing or given twice is refused in one line.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { listObjects } from '../../migrator/src/audit/list-objects';
import { readAuditReport } from '../../migrator/src/audit/report';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import type { MigrationSummary } from '../../migrator/src/migrate/report';
import { readProvenance } from '../../migrator/src/objects/provenance';
import { planObjects } from '../../migrator/src/seed/plan';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { seedLegacy } from '../../migrator/src/seed/seeder';
import { inShard } from '../../migrator/src/sources/shard';
import { defaultCheckpointPath } from '../../migrator/src/state-paths';
import { loadReport, locateReport, reportRefusals } from '../../migrator/src/teardown/check-report';
import { listingRefusals } from '../../migrator/src/teardown/verify-listing';
import { runCliScript, type CliRun } from '../helpers/cli';
import { tmpDirPerFile } from '../helpers/tmp';
import { PROBE_PREFIX } from '../../migrator/src/migrate/conditional-write-probe';
import { writeRigState } from '../../migrator/src/aws/rig-state';
import { listBucketKeys, migrateCli } from './helpers/migration';
import { rigState } from './helpers/rig';
import { createsObject, startS3Proxy, type S3Proxy } from './helpers/s3-proxy';
import { cliEnv, dropMigration, freshMigration, type TestMigration } from './helpers/own-buckets';

jest.setTimeout(300_000);
const tmpDir = tmpDirPerFile('bm-shards-');
const N = 4;
const HOUR = 3_600_000;

function oneLineRefusal(run: CliRun, pattern: RegExp): void {
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
    code: 2,
    stdout: '',
    stderr: expect.stringMatching(pattern),
  });
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
}

describe(`${N} shards migrated in parallel by ${N} processes, then audited together`, () => {
  let m: TestMigration;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  /** Key -> plaintext SHA-256, as seeded. */
  const seeded = new Map<string, string>();
  const checkpointOf = (index: number) => path.join(cwd, defaultCheckpointPath('local', '.', { index, count: N }));
  let runs: { code: number | null; stdout: string; stderr: string }[];
  let proxy: S3Proxy | undefined;

  beforeAll(async () => {
    cwd = tmpDir();
    m = await freshMigration('shards', cwd);
    // The migrators reach S3 through a proxy, which sees every write of a key.
    proxy = await startS3Proxy(rigState().endpoint);
    const proxiedState = path.join(cwd, 'rig-state.json');
    writeRigState(proxiedState, { ...rigState(), endpoint: proxy.url });
    env = { ...cliEnv(m, cwd), BUCKETMOVE_RIG_STATE: proxiedState };

    const objects = planObjects({
      count: 300,
      size: parseSizeSpec('100-16KiB'),
      oddKeys: true,
      seed: 'shards',
      prefix: 'chats/',
    });
    const { entries } = await seedLegacy({ client: m.legacy, codec: m.codec, objects, seed: 'shards', concurrency: 8 });
    for (const e of entries) seeded.set(e.key, e.sha256);

    // The 4 tasks start together; none waits for another.
    const tasks = Array.from({ length: N }, (_, i) =>
      migrateCli(['--env', 'local', '--shard', `${i + 1}/${N}`, '--concurrency', '4', '--progress', 'log'], {
        cwd,
        env,
      }),
    );
    runs = await Promise.all(tasks.map((t) => t.done));
  });
  afterAll(async () => {
    await proxy?.close();
    await dropMigration(m);
  });

  test('every shard completes, each with its own checkpoint and report', () => {
    expect(seeded.size).toBeGreaterThanOrEqual(300);
    runs.forEach((r, i) => {
      expect({ shard: i + 1, code: r.code, stderr: r.stderr.includes('\n    at ') }).toEqual({
        shard: i + 1,
        code: 0,
        stderr: false,
      });
      expect(r.stdout).toMatch(
        new RegExp(`^migration of local \\(shard ${i + 1}/${N}\\) complete: \\d+ legacy objects`),
      );
      expect(r.stdout).toContain(`checkpoint: ${defaultCheckpointPath('local', '.', { index: i + 1, count: N })}`);
      expect(r.stdout).toMatch(new RegExp(`report: \\S+migrate-\\S+-shard-${i + 1}-of-${N}\\.csv`));
    });
  });

  test('each key was copied exactly once: in one shard, the one its hash names, copied there and nowhere else', async () => {
    const owner = new Map<string, number>();
    let copied = 0;
    for (let index = 1; index <= N; index++) {
      const cp = Checkpoint.openReadOnly(checkpointOf(index));
      try {
        expect(cp.identity()).toMatchObject({ env: 'local', shard: `${index}/${N}` });
        expect(cp.listCursor().complete).toBe(true);
        const counts = cp.counts();
        // No shard found another's copy in the new bucket, nor an app write: nobody else wrote its keys.
        expect({
          index,
          'already-migrated': counts['already-migrated'].count,
          'kept-app-version': counts['kept-app-version'].count,
          pending: counts.pending.count,
          failed: counts.failed.count,
          quarantined: counts.quarantined.count,
        }).toEqual({
          index,
          'already-migrated': 0,
          'kept-app-version': 0,
          pending: 0,
          failed: 0,
          quarantined: 0,
        });
        copied += counts.copied.count;
        for (const row of cp.rows()) {
          expect({
            key: row.key,
            alsoIn: owner.get(row.key),
            inItsShard: inShard(row.key, { index, count: N }),
          }).toEqual({ key: row.key, alsoIn: undefined, inItsShard: true });
          owner.set(row.key, index);
          expect(row.plaintextSha256).toBe(seeded.get(row.key));
        }
      } finally {
        cp.close();
      }
    }
    expect([...owner.keys()].sort()).toEqual([...seeded.keys()].sort());
    expect(copied).toBe(seeded.size);
    // Every shard had a share (300 keys in 4: an empty shard would be a broken hash).
    for (let index = 1; index <= N; index++)
      expect([...owner.values()].filter((s) => s === index).length).toBeGreaterThan(30);

    // The shards' JSON reports: this run's copies add up to the number of keys.
    const reports = fs
      .readdirSync(path.join(cwd, '.bucketmove', 'local', 'reports'))
      .filter((f) => /^migrate-.*-shard-\d+-of-4\.json$/.test(f));
    expect(reports).toHaveLength(N);
    const summaries = reports.map(
      (f) =>
        JSON.parse(fs.readFileSync(path.join(cwd, '.bucketmove', 'local', 'reports', f), 'utf8')) as MigrationSummary,
    );
    expect(summaries.map((s) => s.shard).sort()).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect(summaries.reduce((n, s) => n + s.run.processed.copied, 0)).toBe(seeded.size);
    expect(summaries.every((s) => s.run.processed['already-migrated'] === 0 && s.complete)).toBe(true);
  });

  test('every key was written once (one PutObject), and holds provenance matching what was seeded', async () => {
    const writes = new Map<string, number>();
    for (const r of proxy!.seen) {
      if (r.bucket !== m.primary.bucket || !r.key || !createsObject(r) || r.key.startsWith(PROBE_PREFIX)) continue;
      writes.set(r.key, (writes.get(r.key) ?? 0) + 1);
    }
    expect([...writes.keys()].sort()).toEqual([...seeded.keys()].sort());
    expect([...writes.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    // Each shard probed the bucket once, and its probe left nothing: one key for the conditional writes (plain PUTs),
    // two for the signed-chunk probe (RGW ignores If-None-Match at CompleteMultipartUpload, so that one runs too).
    const probeRequests = proxy!.seen.filter((r) => r.key?.startsWith(PROBE_PREFIX));
    const chunked = new Set(
      probeRequests.filter((r) => r.headers['content-encoding'] === 'aws-chunked').map((r) => r.key),
    );
    const plain = new Set(probeRequests.map((r) => r.key).filter((k) => !chunked.has(k)));
    expect([plain.size, chunked.size]).toEqual([N, 2 * N]);
    expect((await listBucketKeys(m.primary.s3, m.primary.bucket)).sort()).toEqual([...seeded.keys()].sort());
    for (const [key, sha] of seeded) {
      const head = await m.primary.s3.send(new HeadObjectCommand({ Bucket: m.primary.bucket, Key: key }));
      expect({ key, sha: readProvenance(head.Metadata)?.plaintextSha256 }).toEqual({ key, sha });
    }
  });

  test('the audit over the 4 checkpoints passes (--shards 4), names the shards, and the gate accepts its report', async () => {
    const run = await runCliScript('audit', ['--env', 'local', '--shards', String(N)], { cwd, env });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^audit of local \\(4 shards\\) PASSED: ${seeded.size} legacy keys \\(${seeded.size} verified copies, 0 kept as the app wrote them\\), 0 fallback hits`,
      ),
    );
    const report = readAuditReport(path.join(cwd, lines[4].split(' ')[1]));
    expect(report.checkpoint.shards!.map((s) => [s.shard, s.path, s.listingComplete])).toEqual(
      Array.from({ length: N }, (_, i) => [
        `${i + 1}/${N}`,
        defaultCheckpointPath('local', '.', { index: i + 1, count: N }),
        true,
      ]),
    );
    expect(report.checkpoint.states.copied).toBe(seeded.size);
    expect(report.migrationProblems).toEqual([]);
    expect(fs.readFileSync(path.join(cwd, lines[4].split(' ')[3]), 'utf8')).toContain('## Shards');

    const gate = loadReport(locateReport('local', undefined, cwd));
    expect(
      reportRefusals(gate, m.ws, { maxAgeMs: HOUR, minWindowMs: HOUR, maxGapMs: 15 * 60_000, now: new Date() }),
    ).toEqual([]);
    expect((await listingRefusals(gate, listObjects(m.legacy.s3, m.legacy.bucket))).reasons).toEqual([]);
  });

  test('the same audit with the 4 checkpoints given one by one, in any order', async () => {
    const files = [3, 1, 4, 2].map(checkpointOf);
    const run = await runCliScript(
      'audit',
      ['--env', 'local', ...files.flatMap((f) => ['--checkpoint', f]), '--report', path.join(cwd, 'by-hand')],
      { cwd, env },
    );
    expect(run.code).toBe(0);
    expect(readAuditReport(path.join(cwd, 'by-hand.json'))).toMatchObject({
      passed: true,
      counts: { legacyKeys: seeded.size, verified: seeded.size },
    });
  });

  test("the same audit given the 4 shards' migrate reports (each names its checkpoint)", async () => {
    const dir = path.join(cwd, '.bucketmove', 'local', 'reports');
    const reports = fs
      .readdirSync(dir)
      .filter((f) => /^migrate-.*-shard-\d+-of-4\.json$/.test(f))
      .map((f) => path.join(dir, f));
    expect(reports).toHaveLength(N);
    const run = await runCliScript(
      'audit',
      ['--env', 'local', ...reports.flatMap((r) => ['--migrate-report', r]), '--report', path.join(cwd, 'by-reports')],
      { cwd, env },
    );
    expect(run.code).toBe(0);
    const report = readAuditReport(path.join(cwd, 'by-reports.json'));
    expect(report).toMatchObject({ passed: true, counts: { legacyKeys: seeded.size, verified: seeded.size } });
    expect(report.checkpoint.shards!.map((s) => s.shard)).toEqual(['1/4', '2/4', '3/4', '4/4']);
    oneLineRefusal(
      await runCliScript('audit', ['--env', 'local', ...reports.slice(1).flatMap((r) => ['--migrate-report', r])], {
        cwd,
        env,
      }),
      /^audit: shards? .* missing \(given: /,
    );
  });

  test('a shard missing or given twice is refused in one line, and no report is written', async () => {
    const reports = () => fs.readdirSync(path.join(cwd, '.bucketmove', 'local', 'reports')).length;
    const before = reports();
    const cp = (i: number) => ['--checkpoint', checkpointOf(i)];
    oneLineRefusal(
      await runCliScript('audit', ['--env', 'local', ...cp(1), ...cp(2), ...cp(4)], { cwd, env }),
      /^audit: shard 3\/4 is missing \(given: 1\/4, 2\/4, 4\/4\); give every shard's checkpoint with --checkpoint/,
    );
    oneLineRefusal(
      await runCliScript('audit', ['--env', 'local', ...cp(1), ...cp(2), ...cp(3), ...cp(4), ...cp(2)], { cwd, env }),
      /^audit: shard 2\/4 is given twice \(.*checkpoint-shard-2-of-4\.sqlite and .*checkpoint-shard-2-of-4\.sqlite\); give each shard's checkpoint once\n$/,
    );
    oneLineRefusal(
      await runCliScript('audit', ['--env', 'local', '--shards', '8'], { cwd, env }),
      /^audit: shard 1\/8: checkpoint \.bucketmove\/local\/checkpoint-shard-1-of-8\.sqlite does not exist/,
    );
    const aside = `${checkpointOf(3)}.aside`;
    fs.renameSync(checkpointOf(3), aside);
    try {
      oneLineRefusal(
        await runCliScript('audit', ['--env', 'local', '--shards', '4'], { cwd, env }),
        /^audit: shard 3\/4: checkpoint \.bucketmove\/local\/checkpoint-shard-3-of-4\.sqlite does not exist; run `npm run migrate -- --env local --shard 3\/4` first/,
      );
    } finally {
      fs.renameSync(aside, checkpointOf(3));
    }
    expect(reports()).toBe(before);
  });
});
