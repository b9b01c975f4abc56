/**
 * `npm run audit` and `npm run teardown` on bad input: one line on stderr, no stack trace, exit 2 (a teardown refusal:
 * exit 1), and nothing written. Run as the CLIs run, from an empty working folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { loadWorkspace } from '../../workspaces/load';
import { cleanFacts, legacyObjects, writeReport } from '../helpers/audit-report';
import { runCliScript, type CliRun } from '../helpers/cli';
import { tmpDirPerFile } from '../helpers/tmp';

jest.setTimeout(60_000);
const tmpDir = tmpDirPerFile('bm-cli-');

function oneLineError(run: CliRun, code: number, pattern: RegExp): void {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code, stderr: expect.stringMatching(pattern) });
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stdout).toBe('');
}

/** A workspaces folder with a local (s3-compatible) workspace pointing at a port nobody listens on. */
function unreachableWorkspace(dir: string): { wsDir: string; log: string } {
  const wsDir = path.join(dir, 'workspaces');
  fs.mkdirSync(wsDir);
  const log = path.join(dir, 'app.log');
  fs.writeFileSync(log, '');
  const { file: _file, ...ws } = loadWorkspace('local');
  ws.primary.endpoint = 'http://127.0.0.1:9';
  ws.legacy.endpoint = 'http://127.0.0.1:9';
  ws.migration.credentials = 'static';
  ws.app = { localLogFile: log };
  fs.writeFileSync(path.join(wsDir, 'local.json'), JSON.stringify(ws));
  return { wsDir, log };
}

describe('npm run audit: bad input', () => {
  test('--help explains the flags', async () => {
    const run = await runCliScript('audit', ['--help']);
    expect(run.code).toBe(0);
    for (const flag of [
      '--env',
      '--deep',
      '--sample',
      '--since',
      '--until',
      '--max-gap',
      '--fallback-log',
      '--checkpoint',
      '--report',
      '--max-listed',
    ])
      expect(run.stdout).toContain(flag);
  });

  test.each([
    [[], /^audit: Missing required argument: env; see --help\n$/],
    [
      ['--env', 'nope'],
      /^audit: unknown env "nope": there is no .*nope\.json \(known envs: dev, local, prod, staging\)\n$/,
    ],
    [
      ['--env', 'dev', '--deep', '--sample', '3'],
      /^audit: give --deep \(every key re-read\) or --sample N \(N keys re-read\), not both\n$/,
    ],
    [
      ['--env', 'dev', '--sample', '3', '--seed', 'x'],
      /^audit: checkpoint \.bucketmove\/dev\/checkpoint\.sqlite does not exist/,
    ],
    [['--env', 'dev', '--sample', '0'], /^audit: --sample must be a whole number from 1 to 1000000 \(got 0\)\n$/],
    [
      ['--env', 'dev', '--since', 'last week'],
      /^audit: --since must be an ISO 8601 time with a zone .* \(got "last week"\)\n$/,
    ],
    [
      ['--env', 'dev', '--since', '1d', '--until', '2020-01-01T00:00:00Z'],
      /^audit: --since \(.*\) must be before --until \(2020-01-01T00:00:00.000Z\)\n$/,
    ],
    [['--env', 'dev', '--seed', 'x'], /^audit: --seed goes with --sample\n$/],
    [
      ['--env', 'dev', '--max-gap', 'soon'],
      /^audit: --max-gap must be a duration such as 30m, 12h, 7d or 2w \(got "soon"\)\n$/,
    ],
    [['--env', 'dev', '--bogus'], /^audit: Unknown argument: bogus; see --help\n$/],
    [
      ['--env', 'dev', '--fallback-log', 'missing.log'],
      /^audit: --fallback-log: the fallback log missing\.log does not exist/,
    ],
    [
      ['--env', 'dev'],
      /^audit: checkpoint \.bucketmove\/dev\/checkpoint\.sqlite does not exist; run the migrator first or pass --checkpoint\n$/,
    ],
  ])('%j', async (args, pattern) => {
    const cwd = tmpDir();
    oneLineError(await runCliScript('audit', args as string[], { cwd }), 2, pattern as RegExp);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  test('a checkpoint of another migration, and an endpoint that does not answer: one line, and no report', async () => {
    const dir = tmpDir();
    const { wsDir } = unreachableWorkspace(dir);
    const env = {
      BUCKETMOVE_WORKSPACES_DIR: wsDir,
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'x',
      LEGACY_AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      LEGACY_AWS_SECRET_ACCESS_KEY: 'x',
    };
    const ws = loadWorkspace('local');
    const other = path.join(dir, 'other.sqlite');
    Checkpoint.open(other, {
      env: 'local',
      legacyBucket: 'someone-else',
      newBucket: ws.primary.bucket,
      prefix: '',
    }).close();
    oneLineError(
      await runCliScript('audit', ['--env', 'local', '--checkpoint', other], { cwd: dir, env }),
      2,
      /^audit: checkpoint .*other\.sqlite belongs to another migration \(env local, someone-else -> /,
    );

    const mine = path.join(dir, 'mine.sqlite');
    const cp = Checkpoint.open(mine, {
      env: 'local',
      legacyBucket: ws.legacy.bucket,
      newBucket: ws.primary.bucket,
      prefix: '',
    });
    cp.finishRun(cp.startRun(), 'complete', {});
    cp.close();
    const run = await runCliScript('audit', ['--env', 'local', '--checkpoint', mine], {
      cwd: dir,
      env: { ...env, BUCKETMOVE_DEBUG: '' },
    });
    oneLineError(
      run,
      2,
      /^audit: the legacy side: http:\/\/127\.0\.0\.1:9 did not answer for bucket "chatapp-legacy-photos"/,
    );
    expect(run.stderr).not.toContain('AKIAEXAMPLE');
    expect(fs.existsSync(path.join(dir, '.bucketmove'))).toBe(false);
  });
});

describe('npm run teardown: bad input and refusals', () => {
  test('--help explains the flags', async () => {
    const run = await runCliScript('teardown', ['--help']);
    expect(run.code).toBe(0);
    for (const flag of [
      '--env',
      '--report',
      '--max-age',
      '--min-window',
      '--max-gap',
      '--dry-run',
      '--approval',
      '--yes',
    ])
      expect(run.stdout).toContain(flag);
  });

  test.each([
    [
      ['--env', 'local', '--yes'],
      2,
      /^teardown: env "local" has target "s3-compatible": it has no legacy stack to destroy .*; --dry-run still checks the evidence\n$/,
    ],
    [
      ['--env', 'local', '--dry-run'],
      1,
      /^teardown: refused: no audit report for local in \.bucketmove\/local\/reports; run `npm run audit -- --env local` first \(or pass --report\)\n$/,
    ],
    [
      ['--env', 'prod', '--dry-run', '--max-age', 'forever'],
      2,
      /^teardown: --max-age must be a duration such as 30m, 12h, 7d or 2w \(got "forever"\)\n$/,
    ],
    [
      ['--env', 'prod', '--dry-run', '--max-age', '8d'],
      2,
      /^teardown: --max-age must be at most 7d: synth refuses an approval of an older report \(got 8d\)\n$/,
    ],
    [
      ['--env', 'prod', '--dry-run', '--max-gap', '0m'],
      2,
      /^teardown: --max-gap must be longer than zero \(got "0m"\)\n$/,
    ],
    [
      ['--env', 'prod', '--dry-run', '--approval-valid', '8d'],
      2,
      /^teardown: --approval-valid must be at most 7d \(got 8d\)\n$/,
    ],
    [
      ['--env', 'prod'],
      2,
      /^teardown: stdin is not a terminal: pass --yes to destroy without the typed confirmation \(or --dry-run\)\n$/,
    ],
    [
      ['--env', 'prod', '--dry-run'],
      1,
      /^teardown: refused: no audit report for prod in \.bucketmove\/prod\/reports; run `npm run audit -- --env prod` first \(or pass --report\)\n$/,
    ],
  ])('%j', async (args, code, pattern) => {
    const cwd = tmpDir();
    oneLineError(await runCliScript('teardown', args as string[], { cwd }), code as number, pattern as RegExp);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  test('a failing audit report is refused with its reasons, before AWS is contacted', async () => {
    const cwd = tmpDir();
    const facts = cleanFacts(loadWorkspace('prod'), legacyObjects(3), new Date(Date.now() - 3_600_000));
    facts.fallback.hits = 4;
    const file = writeReport(
      path.join(cwd, '.bucketmove', 'prod', 'reports', 'audit-20990101T000000.000Z.json'),
      facts,
    );
    const run = await runCliScript('teardown', ['--env', 'prod', '--yes'], {
      cwd,
      env: { AWS_EC2_METADATA_DISABLED: 'true' },
    });
    oneLineError(
      run,
      1,
      /^teardown: refused: the audit failed: 4 fallback hit\(s\) between .*; the audit counted 4 fallback hit\(s\)/,
    );
    expect(fs.readdirSync(path.dirname(file))).toEqual([path.basename(file)]);
    expect(fs.existsSync(path.join(cwd, '.bucketmove', 'prod', 'teardown'))).toBe(false);
  });
});
