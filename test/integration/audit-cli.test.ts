/**
 * The operator's path on the RGW, command by command: `npm run migrate -- --env local`, then `npm run audit -- --env
 * local` (and `--deep`) from the same folder with the defaults (checkpoint, reports), then the gate's checks on the
 * report the audit wrote: it passes them and its digest matches a fresh listing; after a legacy write the old report
 * no longer matches, and the new audit fails.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { listObjects } from '../../migrator/src/audit/list-objects';
import { readAuditReport } from '../../migrator/src/audit/report';
import { FALLBACK_HIT_EVENT } from '../../migrator/src/audit/fallback-event';
import { loadReport, locateReport, reportRefusals } from '../../migrator/src/teardown/check-report';
import { listingRefusals } from '../../migrator/src/teardown/verify-listing';
import { planObjects } from '../../migrator/src/seed/plan';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { runCliScript } from '../helpers/cli';
import { runningAppHeartbeats } from '../helpers/heartbeats';
import { tmpDirPerFile } from '../helpers/tmp';
import { dropMigration, freshMigration, seed, type TestMigration } from './helpers/own-buckets';

jest.setTimeout(120_000);
const tmpDir = tmpDirPerFile('bm-audit-cli-');
const HOUR = 3_600_000;

describe("npm run migrate, then npm run audit, then the gate's checks", () => {
  let m: TestMigration;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  let log: string;
  const reports = () => path.join(cwd, '.bucketmove', 'local', 'reports');

  beforeAll(async () => {
    cwd = tmpDir();
    m = await freshMigration('audit-cli', cwd);
    log = path.join(cwd, 'photo-service.log');
    // A hit from before the window, and the heartbeats of the app running since (its log covers the window).
    fs.writeFileSync(
      log,
      `${JSON.stringify({ event: FALLBACK_HIT_EVENT, key: 'chats/x.jpg', time: new Date(Date.now() - 30 * 24 * HOUR).toISOString() })}\n${runningAppHeartbeats()}`,
    );
    const wsDir = path.join(cwd, 'workspaces');
    fs.mkdirSync(wsDir);
    const { file: _file, ...json } = m.ws;
    fs.writeFileSync(path.join(wsDir, 'local.json'), JSON.stringify({ ...json, app: { localLogFile: log } }, null, 2));
    env = { ...m.env, BUCKETMOVE_WORKSPACES_DIR: wsDir, LEGACY_FERNET_KEYS: m.keys[0] };
    await seed(
      m,
      planObjects({ count: 12, size: parseSizeSpec('1KiB-32KiB'), oddKeys: false, seed: 'cli', prefix: 'chats/' }),
      'cli',
    );
    const migrated = await runCliScript('migrate', ['--env', 'local', '--concurrency', '4', '--workers', '1'], {
      cwd,
      env,
    });
    expect(migrated.stdout).toMatch(/^migration of local complete: 12 legacy objects/);
    expect(migrated.code).toBe(0);
  });
  afterAll(() => dropMigration(m));

  test('the audit passes, prints its verdict and writes the JSON report and the Markdown summary', async () => {
    const run = await runCliScript('audit', ['--env', 'local'], { cwd, env });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^audit of local PASSED: 12 legacy keys \(12 verified copies, 0 kept as the app wrote them\), 0 fallback hits in 7d 0h, covered by 2,01\d heartbeats from 1 process, largest gap (\d+m )?\d+s$/,
    );
    expect(lines[1]).toBe("legacy keys 12, verified 12, app's own 0, with problems 0, re-read 0");
    expect(lines[2]).toMatch(
      /^fallback hits 0 in 7d 0h \(.* file .*photo-service\.log\), covered by 2,01\d heartbeats from 1 process, largest gap (\d+m )?\d+s \(allowed 15m 0s\)$/,
    );
    expect(lines[3]).toMatch(/^legacy listing digest sha256:[0-9a-f]{64}$/);
    expect(lines[4]).toMatch(
      /^report: \.bucketmove\/local\/reports\/audit-\d{8}T\d{6}\.\d{3}Z\.json and \.bucketmove\/local\/reports\/audit-\S+\.md$/,
    );
    // Not a terminal: JSON log lines (pino), phases included; no secret anywhere.
    const events = run.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event);
    expect(events).toEqual(expect.arrayContaining(['audit-fallback-count', 'audit-merge', 'audit-finished']));
    const report = readAuditReport(path.join(cwd, lines[4].split(' ')[1]));
    expect(report).toMatchObject({
      passed: true,
      env: 'local',
      checkpoint: { path: '.bucketmove/local/checkpoint.sqlite', runs: 1, listingComplete: true },
    });
    const md = fs.readFileSync(path.join(cwd, lines[4].split(' ')[3]), 'utf8');
    expect(md).toMatch(/^# Audit of local: PASSED\n/);
    for (const text of [run.stdout, run.stderr, md, JSON.stringify(report)]) {
      expect(text).not.toContain(m.env.AWS_SECRET_ACCESS_KEY!);
      expect(text).not.toContain(m.env.LEGACY_AWS_SECRET_ACCESS_KEY!);
      expect(text).not.toContain(m.keys[0]);
    }
  });

  test('--deep re-reads every key and passes too', async () => {
    const run = await runCliScript('audit', ['--env', 'local', '--deep', '--report', path.join(cwd, 'deep')], {
      cwd,
      env,
    });
    expect(run.code).toBe(0);
    expect(readAuditReport(path.join(cwd, 'deep.json')).counts.deepCompared).toBe(12);
  });

  test("the gate accepts the newest passing report, and its digest matches the legacy bucket's listing", async () => {
    const file = locateReport('local', undefined, cwd);
    const report = loadReport(file);
    expect(report.passed).toBe(true);
    expect(
      reportRefusals(report, m.ws, {
        maxAgeMs: HOUR,
        minWindowMs: 7 * 24 * HOUR,
        maxGapMs: 15 * 60_000,
        now: new Date(),
      }),
    ).toEqual([]);
    expect(await listingRefusals(report, listObjects(m.legacy.s3, m.legacy.bucket))).toMatchObject({
      reasons: [],
      digest: report.legacyListing.digest,
      objects: 12,
    });
  });

  test('after a legacy write, the passing report no longer matches, and a new audit fails', async () => {
    const passing = loadReport(locateReport('local', undefined, cwd));
    const key = 'chats/still-written-to-legacy.jpg';
    await m.legacy.s3.send(
      new PutObjectCommand({ Bucket: m.legacy.bucket, Key: key, Body: m.codec.encrypt(Buffer.from('late'), { key }) }),
    );
    const listing = await listingRefusals(passing, listObjects(m.legacy.s3, m.legacy.bucket));
    expect(listing.reasons).toEqual([
      expect.stringMatching(
        /^the legacy bucket changed since the audit: its listing digest is now sha256:\S+ \(13 objects\), the audit saw sha256:\S+ \(12 objects\)/,
      ),
    ]);

    const run = await runCliScript('audit', ['--env', 'local'], { cwd, env });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^audit of local FAILED: 1 key\(s\) with problems \(missing 1, (not-in-checkpoint|legacy-written-after-migration) 1\)/,
    );
    const newest = loadReport(locateReport('local', undefined, cwd));
    expect(newest.passed).toBe(false);
    expect(
      reportRefusals(newest, m.ws, { maxAgeMs: HOUR, minWindowMs: HOUR, maxGapMs: 15 * 60_000, now: new Date() })[0],
    ).toMatch(/^the audit failed: 1 key\(s\) with problems/);
    expect(fs.readdirSync(reports()).filter((n) => n.startsWith('audit-') && n.endsWith('.json'))).toHaveLength(2);
  });
});
