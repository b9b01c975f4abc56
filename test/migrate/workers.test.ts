/**
 * `migrate --workers N` without S3: its arguments, each worker's flags and files, how the workers' runs become one
 * (outcomes summed, one exit code), and the default number of workers. The run itself:
 * test/integration/migrate-workers.
 */
import * as fs from 'fs';
import * as path from 'path';
import { defaultWorkers, parseArgs } from '../../migrator/src/cli/migrate';
import { UsageError } from '../../workspaces/errors';
import { ALL_STATES, type ObjectState } from '../../migrator/src/objects/object-states';
import { EXIT as EXIT_CODES } from '../../migrator/src/exit-codes';
import { summarize } from '../../migrator/src/migrate/migrate-workspace';
import type { MigrationSummary } from '../../migrator/src/migrate/report';
import type { RunResult } from '../../migrator/src/migrate/run';
import { mergeRuns, shardFile, workerArgs, workersFailure } from '../../migrator/src/migrate/workers';
import { defaultCheckpointPath } from '../../migrator/src/state-paths';
import { loadWorkspace } from '../../workspaces/load';
import { tmpDirPerFile } from '../helpers/tmp';

const tmp = tmpDirPerFile('bm-workers-');

function usage(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('no usage error');
}

function run(over: Partial<RunResult> & { counts?: Partial<Record<ObjectState, number>> }): RunResult {
  const totals = Object.fromEntries(
    ALL_STATES.map((s) => [s, { count: over.counts?.[s] ?? 0, bytes: (over.counts?.[s] ?? 0) * 10 }]),
  ) as RunResult['totals'];
  const processed = Object.fromEntries(ALL_STATES.map((s) => [s, over.counts?.[s] ?? 0])) as RunResult['processed'];
  const { counts: _c, ...rest } = over;
  return {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:10.000Z',
    seconds: 10,
    processed,
    storedBytes: 0,
    plaintextBytes: 0,
    retries: 0,
    throttles: 0,
    interrupted: false,
    listingComplete: true,
    unrechecked: 0,
    totals,
    ...rest,
  };
}

describe('--workers: arguments', () => {
  test('a whole number from 1 to 256; not with --shard or --dry-run', () => {
    expect(parseArgs(['--env', 'local', '--workers', '4']).workers).toBe(4);
    expect(parseArgs(['--env', 'local']).workers).toBeUndefined();
    expect(usage(['--env', 'local', '--workers', '0'])).toMatch(
      /--workers must be a whole number from 1 to 256 \(got 0\)/,
    );
    expect(usage(['--env', 'local', '--workers', '1.5'])).toMatch(/--workers must be a whole number/);
    expect(usage(['--env', 'local', '--workers', '2', '--shard', '1/2'])).toBe(
      '--workers N runs shards 1/N to N/N itself; give --shard without --workers (or --workers 1)',
    );
    expect(usage(['--env', 'local', '--workers', '2', '--dry-run'])).toBe(
      '--dry-run lists the legacy bucket once; give it without --workers',
    );
    expect(parseArgs(['--env', 'local', '--workers', '1', '--shard', '1/2']).shard).toBe('1/2'); // what each worker is given
  });

  test("each worker gets the user's flags, less the ones it is given its own of, then its shard's", () => {
    const user = [
      '--env',
      'prod',
      '--workers',
      '4',
      '--concurrency',
      '32',
      '--checkpoint',
      'cp.sqlite',
      '--progress=bar',
      '--report',
      'out/r',
      '--retry-quarantined',
      '--prefix',
      'a/',
    ];
    expect(workerArgs(user, { index: 3, count: 4 }, 'cp-shard-3-of-4.sqlite', 'out/r-shard-3-of-4')).toEqual([
      '--env',
      'prod',
      '--concurrency',
      '32',
      '--retry-quarantined',
      '--prefix',
      'a/',
      '--workers',
      '1',
      '--shard',
      '3/4',
      '--progress',
      'log',
      '--checkpoint',
      'cp-shard-3-of-4.sqlite',
      '--report',
      'out/r-shard-3-of-4',
    ]);
    // The result parses, as the worker will parse it.
    expect(parseArgs(workerArgs(user, { index: 1, count: 4 }, 'c', 'r'))).toMatchObject({
      env: 'prod',
      shard: '1/4',
      workers: 1,
      concurrency: 32,
      progress: 'log',
    });
  });

  test("a shard's files sit beside the ones the user named", () => {
    expect(shardFile('dir/cp.sqlite', { index: 2, count: 4 })).toBe('dir/cp-shard-2-of-4.sqlite');
    expect(shardFile('dir/report', { index: 1, count: 2 })).toBe('dir/report-shard-1-of-2');
    expect(shardFile('cp.db', { index: 1, count: 2 })).toBe('cp.db-shard-1-of-2');
  });
});

describe('--workers: the workers as one run', () => {
  const ws = loadWorkspace('local');

  test('outcomes are summed, the listing is complete only when every shard listed to the end, the time is the slowest', () => {
    const merged = mergeRuns([
      run({ counts: { copied: 3, quarantined: 1 }, seconds: 4, retries: 2 }),
      run({ counts: { copied: 5, pending: 2 }, seconds: 9, listingComplete: false, listingError: 'AccessDenied' }),
    ]);
    expect(merged.totals.copied).toEqual({ count: 8, bytes: 80 });
    expect(merged.processed).toMatchObject({ copied: 8, quarantined: 1, pending: 2 });
    expect(merged).toMatchObject({
      seconds: 9,
      retries: 2,
      listingComplete: false,
      interrupted: false,
      listingError: 'worker 2: AccessDenied',
    });
    expect(merged.recheckError).toBeUndefined();
  });

  test('one exit code, as one process would answer: quarantined > incomplete > complete; interrupted over all', () => {
    const exit = (...runs: RunResult[]) => summarize(ws, '', 'a, b', mergeRuns(runs)).exitCode;
    expect(exit(run({ counts: { copied: 2 } }), run({ counts: { 'already-migrated': 1 } }))).toBe(EXIT_CODES.ok);
    expect(exit(run({ counts: { copied: 2 } }), run({ counts: { copied: 1, pending: 1 } }))).toBe(
      EXIT_CODES.incomplete,
    );
    expect(exit(run({ counts: { quarantined: 1 } }), run({ counts: { copied: 1, pending: 1 } }))).toBe(
      EXIT_CODES.failed,
    );
    expect(exit(run({ counts: { quarantined: 1 } }), run({ counts: { pending: 1 }, interrupted: true }))).toBe(
      EXIT_CODES.interrupted,
    );
    expect(
      exit(run({ counts: { copied: 1 } }), run({ counts: { copied: 1 }, recheckError: 'SlowDown', unrechecked: 1 })),
    ).toBe(EXIT_CODES.failed);
  });

  test("a worker without a report: a refusal of the input is everyone's (2, its line); any other death is 1, named", () => {
    const ok = { summary: {} as MigrationSummary };
    expect(workersFailure([ok, ok])).toBeUndefined();
    expect(
      workersFailure([
        { code: 2, signal: null, lastLine: 'migrate: missing LEGACY_FERNET_KEYS' },
        { code: 2, signal: null, lastLine: 'migrate: missing LEGACY_FERNET_KEYS' },
      ]),
    ).toEqual({
      code: 2,
      line: 'missing LEGACY_FERNET_KEYS',
    });
    expect(workersFailure([ok, { code: null, signal: 'SIGKILL', lastLine: '' }])).toEqual({
      code: 1,
      line: 'worker 2/2 was killed (SIGKILL) (rerun the same command to resume)',
    });
    expect(workersFailure([{ code: 7, signal: null, lastLine: 'boom' }, ok])).toEqual({
      code: 1,
      line: 'worker 1/2 exited with 7: boom (rerun the same command to resume)',
    });
    expect(
      workersFailure([
        { code: 130, signal: null, lastLine: '' },
        { code: null, signal: 'SIGINT', lastLine: '' },
      ])?.code,
    ).toBe(130);
  });
});

describe('--workers: the default', () => {
  const args = { checkpoint: undefined, shard: undefined, 'dry-run': false };

  test('the available cores for a new migration; 1 for a named checkpoint, a shard, a dry run', () => {
    const root = tmp();
    expect(defaultWorkers('local', args, root, 4)).toBe(4);
    expect(defaultWorkers('local', args, root, 1)).toBe(1);
    expect(defaultWorkers('local', { ...args, checkpoint: 'cp.sqlite' }, root, 4)).toBe(1);
    expect(defaultWorkers('local', { ...args, shard: '1/2' }, root, 4)).toBe(1);
    expect(defaultWorkers('local', { ...args, 'dry-run': true }, root, 4)).toBe(1);
  });

  test('resuming: 1 when one process began it (its checkpoint exists), N when N workers did', () => {
    const single = tmp();
    fs.mkdirSync(path.dirname(defaultCheckpointPath('local', single)), { recursive: true });
    fs.writeFileSync(defaultCheckpointPath('local', single), '');
    expect(defaultWorkers('local', args, single, 4)).toBe(1);
    const sharded = tmp();
    fs.mkdirSync(path.dirname(defaultCheckpointPath('local', sharded)), { recursive: true });
    for (const index of [1, 2, 3]) fs.writeFileSync(defaultCheckpointPath('local', sharded, { index, count: 3 }), '');
    expect(defaultWorkers('local', args, sharded, 8)).toBe(3);
  });
});
