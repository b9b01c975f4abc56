/**
 * The audit of a migration run as n tasks: the n checkpoints must be one complete set (a shard missing or doubled is
 * named in one line), their rows are merged in key order holding one row per shard, each shard's problems and last
 * run are its own, and the report (JSON and Markdown) names the shards and still passes the teardown gate's checks.
 * Also: with Batch Operations enabled, the jobs' manifests and reports in the new bucket are not "only in new" keys.
 * S3 is the SDK's client mock (no server): the listings and HEADs are what a finished migration would show.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  checkpointFiles,
  checkpointOfReport,
  checkShardSet,
  openCheckpointSet,
  type MemberIdentity,
} from '../../migrator/src/audit/checkpoint-set';
import { compareKeys } from '../../migrator/src/audit/key-order';
import { mergeCheckpointRows, ShardOverlapError } from '../../migrator/src/audit/merge-checkpoints';
import { readAuditReport, writeAuditReport, type AuditReport } from '../../migrator/src/audit/report';
import { runAudit } from '../../migrator/src/audit/run-audit';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { type ObjectRow } from '../../migrator/src/objects/records';
import { PROBE_PREFIX } from '../../migrator/src/migrate/conditional-write-probe';
import { PROVENANCE } from '../../migrator/src/objects/provenance';
import { inShard } from '../../migrator/src/sources/shard';
import { defaultCheckpointPath } from '../../migrator/src/state-paths';
import { reportRefusals } from '../../migrator/src/teardown/check-report';
import { loadWorkspace, type LoadedWorkspace } from '../../workspaces/load';
import { ConfigError } from '../../workspaces/errors';
import { runCliScript } from '../helpers/cli';
import { fullCoverage } from '../helpers/heartbeats';
import { tmpDirPerFile } from '../helpers/tmp';

jest.setTimeout(60_000);
const tmpDir = tmpDirPerFile('bm-shards-');
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const member = (shard: string | undefined, file = `cp-${shard ?? 'plain'}.sqlite`, prefix = ''): MemberIdentity => ({
  path: file,
  prefix,
  ...(shard ? { shard } : {}),
});

describe('checkShardSet: one complete set of shards', () => {
  test('shards 1/n to n/n, in any order, are a set of n; one unsharded checkpoint is a set of none', () => {
    expect(checkShardSet(['3/4', '1/4', '4/4', '2/4'].map((s) => member(s)))).toBe(4);
    expect(checkShardSet([member(undefined)])).toBeUndefined();
    expect(checkShardSet([member(undefined)], 1)).toBeUndefined();
    expect(checkShardSet([member('1/2'), member('2/2')], 2)).toBe(2);
  });

  test.each([
    [
      ['1/4', '2/4', '4/4'],
      undefined,
      /^shard 3\/4 is missing \(given: 1\/4, 2\/4, 4\/4\); give every shard's checkpoint with --checkpoint, or run the missing shards first$/,
    ],
    [['2/4'], undefined, /^shards 1\/4, 3\/4, 4\/4 are missing \(given: 2\/4\)/],
    [
      ['1/4', '2/4', '2/4', '3/4', '4/4'],
      undefined,
      /^shard 2\/4 is given twice \(cp-2\/4\.sqlite and cp-2\/4\.sqlite\); give each shard's checkpoint once$/,
    ],
    [
      ['1/4', '2/4', '1/3'],
      undefined,
      /^checkpoint cp-1\/4\.sqlite is shard 1\/4 but cp-1\/3\.sqlite is shard 1\/3: give the checkpoints of one migration run as n tasks$/,
    ],
    [['1/2', '2/2'], 4, /^--shards 4, but checkpoint cp-1\/2\.sqlite is shard 1\/2 of 2$/],
    [['1/20'], undefined, /^shards 2\/20, 3\/20, .*, 9\/20 and 11 more are missing \(given: 1\/20\)/],
  ])('%j (--shards %p) is refused in one line', (shards, expected, message) => {
    const run = () =>
      checkShardSet(
        (shards as string[]).map((s) => member(s)),
        expected as number | undefined,
      );
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message as RegExp);
  });

  test('an unsharded checkpoint among shards, shards of another prefix: refused', () => {
    expect(() => checkShardSet([member('1/2'), member(undefined)])).toThrow(
      /^checkpoint cp-plain\.sqlite is of a migration not split into shards; give it alone/,
    );
    expect(() => checkShardSet([member(undefined)], 4)).toThrow(
      /^checkpoint cp-plain\.sqlite is of a migration not split into shards/,
    );
    expect(() => checkShardSet([member('1/2'), member('2/2', 'b.sqlite', 'chats/')])).toThrow(
      /^checkpoint cp-1\/2\.sqlite \(shard 1\/2\) has prefix "" but b\.sqlite \(shard 2\/2\) has "chats\/"/,
    );
    expect(() => checkShardSet([member('1/2'), { ...member('2/2'), source: 'manifest s3://b/m.csv#e1' }])).toThrow(
      /read its keys from a listing but cp-2\/2\.sqlite \(shard 2\/2\) from manifest s3:\/\/b\/m\.csv#e1/,
    );
  });
});

const row = (key: string): ObjectRow =>
  ({
    key,
    size: 1,
    etag: 'e',
    state: 'copied',
    attempts: 1,
    versionId: null,
    errorCode: null,
    errorMessage: null,
    httpStatus: null,
    plaintextSha256: null,
    plaintextSize: null,
    newVersionId: null,
    rechecked: true,
    updatedAt: null,
  }) as ObjectRow;

describe('mergeCheckpointRows: a k-way merge', () => {
  test('yields the rows of every shard in UTF-8 byte order, pulling at most one row ahead per shard', () => {
    const keys = Array.from(
      { length: 20_000 },
      (_, i) => [`chats/${i}/p.jpg`, `x\uFF01${i}`, `x\u{1F600}${i}`, `a b+${i}%2F`][i % 4],
    );
    const n = 7;
    let pulled = 0;
    const sources = Array.from({ length: n }, (_, s) => {
      const mine = keys.filter((k) => inShard(k, { index: s + 1, count: n })).sort(compareKeys);
      return {
        label: `shard ${s + 1}/${n}`,
        rows: (function* () {
          for (const k of mine) {
            pulled++;
            yield row(k);
          }
        })(),
      };
    });
    const out: string[] = [];
    let mostAhead = 0;
    for (const r of mergeCheckpointRows(sources)) {
      out.push(r.key);
      mostAhead = Math.max(mostAhead, pulled - out.length);
    }
    // At any time the merge holds at most one row per shard beyond what it yielded.
    expect(mostAhead).toBeLessThanOrEqual(n);
    expect(out).toEqual([...keys].sort(compareKeys));
  });

  test('a key in two shards stops the merge, naming both', () => {
    const run = () => [
      ...mergeCheckpointRows([
        { label: 'shard 1/2 (a.sqlite)', rows: ['a', 'b'].map(row) },
        { label: 'shard 2/2 (b.sqlite)', rows: ['b', 'c'].map(row) },
      ]),
    ];
    expect(run).toThrow(ShardOverlapError);
    expect(run).toThrow(
      /^key "b" is in the checkpoints of shard 1\/2 \(a\.sqlite\) and shard 2\/2 \(b\.sqlite\): they are not the shards of one migration$/,
    );
  });
});

// ---- a finished migration in 4 shards, its buckets mocked --------------------------------------------------------

const KEYS = [
  ...Array.from({ length: 36 }, (_, i) => `chats/${String(i).padStart(3, '0')}/photo.jpg`),
  'chats/odd/a b+c%2F?.jpg',
  'chats/odd/ñandú.png',
  'chats/odd/x\uFF01.jpg',
  'chats/odd/x\u{1F600}.jpg',
];
const SHA = 'ab'.repeat(32);
const sizeOf = (key: string) => 100 + KEYS.indexOf(key);

interface Migrated {
  ws: LoadedWorkspace;
  dir: string;
  files: string[];
  /** Between shard 2's last run and the others'. */
  between: string;
}

/** Shards 1..4 of a finished migration of KEYS; shard 2's run starts first, then (after `between`) the others. */
async function migratedInShards(): Promise<Migrated> {
  const ws = loadWorkspace('local');
  const dir = tmpDir();
  const files: string[] = [];
  const open: Checkpoint[] = [];
  for (let index = 1; index <= 4; index++) {
    const file = defaultCheckpointPath(ws.env, dir, { index, count: 4 });
    const cp = Checkpoint.open(file, {
      env: ws.env,
      legacyBucket: ws.legacy.bucket,
      newBucket: ws.primary.bucket,
      prefix: '',
      shard: `${index}/4`,
    });
    const mine = KEYS.filter((k) => inShard(k, { index, count: 4 }));
    cp.addListedPage(
      mine.map((key) => ({ key, size: sizeOf(key) + 57, etag: `e-${key}` })),
      true,
      mine[mine.length - 1],
    );
    for (const key of mine) {
      cp.record(key, { state: 'copied', plaintextSha256: SHA, plaintextSize: sizeOf(key) });
      cp.markRechecked(key);
    }
    files.push(file);
    open.push(cp);
  }
  open[1].finishRun(open[1].startRun(), 'complete', {});
  await sleep(20);
  const between = new Date().toISOString();
  await sleep(20);
  for (const i of [0, 2, 3]) open[i].finishRun(open[i].startRun(), 'complete', {});
  open.forEach((c) => c.close());
  return { ws, dir, files, between };
}

interface Buckets {
  legacy: S3Client;
  current: S3Client;
}

/** The legacy bucket holds KEYS (modified as given); the new bucket their copies with provenance, plus `extra` keys. */
function mockBuckets(modified: (key: string) => string, extra: string[]): Buckets {
  const legacy = new S3Client({ region: 'us-east-1' });
  const current = new S3Client({ region: 'us-east-1' });
  const sorted = (keys: string[]) => [...keys].sort(compareKeys);
  mockClient(legacy)
    .on(ListObjectsV2Command)
    .resolves({
      IsTruncated: false,
      Contents: sorted(KEYS).map((Key) => ({
        Key,
        Size: sizeOf(Key) + 57,
        ETag: `"e-${Key}"`,
        LastModified: new Date(modified(Key)),
      })),
    });
  const newKeys = sorted([...KEYS, ...extra]);
  const currentMock = mockClient(current);
  currentMock.on(ListObjectsV2Command).resolves({
    IsTruncated: false,
    Contents: newKeys.map((Key) => ({ Key, Size: KEYS.includes(Key) ? sizeOf(Key) : 10, ETag: '"n"' })),
  });
  currentMock.on(HeadObjectCommand).callsFake((input: { Key: string }) => ({
    ContentLength: sizeOf(input.Key),
    Metadata: {
      [PROVENANCE.sourceEtag]: `e-${input.Key}`,
      [PROVENANCE.sourceVersionId]: 'null',
      [PROVENANCE.plaintextSha256]: SHA,
      [PROVENANCE.plaintextSize]: String(sizeOf(input.Key)),
      [PROVENANCE.migratedAt]: new Date().toISOString(),
    },
  }));
  return { legacy, current };
}

async function auditShards(m: Migrated, files: string[], buckets: Buckets, ws = m.ws): Promise<AuditReport> {
  const checkpoints = openCheckpointSet(ws, files);
  try {
    const now = new Date();
    return await runAudit(
      {
        ws,
        legacy: { client: buckets.legacy, bucket: ws.legacy.bucket },
        current: { client: buckets.current, bucket: ws.primary.bucket },
        checkpoints,
        countFallbackHits: async (window) => {
          const w = {
            start: window.start.toISOString(),
            end: window.end.toISOString(),
            seconds: (window.end.getTime() - window.start.getTime()) / 1000,
          };
          return {
            source: { kind: 'file', location: 'app.log' },
            event: 'store.fallback_hit',
            window: w,
            hits: 0,
            sampleKeys: [],
            coverage: fullCoverage(w),
          };
        },
      },
      {
        window: { start: new Date(now.getTime() - 8 * 24 * HOUR), end: now },
        deep: false,
        concurrency: 4,
        deepConcurrency: 1,
        deepMemoryBytes: 1 << 20,
        maxListed: 100,
      },
    );
  } finally {
    checkpoints.close();
  }
}

const LONG_AGO = '2020-01-01T00:00:00.000Z';
const BATCH_KEYS = ['bucketmove-batch/job-1/manifest.csv', 'bucketmove-batch/job-1/results/0001.csv'];

describe('the audit over the 4 checkpoints of a sharded migration', () => {
  test('passes; the report names each shard, the Markdown has their table, and the teardown gate accepts it', async () => {
    const m = await migratedInShards();
    const report = await auditShards(
      m,
      [...m.files].reverse(),
      mockBuckets(() => LONG_AGO, ['chats/new-by-app.jpg']),
    );
    expect(report.reasons).toEqual([]);
    expect(report.summary).toMatch(
      /^audit of local \(4 shards\) PASSED: 40 legacy keys \(40 verified copies, 0 kept as the app wrote them\)/,
    );
    expect(report.counts).toMatchObject({
      legacyKeys: 40,
      verified: 40,
      onlyInNew: 1,
      checkpointOnly: 0,
      problemKeys: 0,
    });
    expect(report.checkpoint).toMatchObject({
      path: m.files.join(', '),
      runs: 4,
      listingComplete: true,
      states: { copied: 40 },
    });
    expect(report.checkpoint.shards!.map((s) => [s.shard, s.path, s.runs])).toEqual(
      m.files.map((f, i) => [`${i + 1}/4`, f, 1]),
    );
    expect(report.checkpoint.shards!.reduce((n, s) => n + s.states.copied, 0)).toBe(40);
    expect(report.newListing.notAudited).toBeUndefined();

    const base = path.join(m.dir, 'audit');
    writeAuditReport(base, report);
    const back = readAuditReport(`${base}.json`);
    expect(back.checkpoint.shards).toHaveLength(4);
    const md = fs.readFileSync(`${base}.md`, 'utf8');
    expect(md).toMatch(/^# Audit of local: PASSED\n/);
    expect(md).toContain(
      '| checkpoints | 4 shards (the migration ran as 4 tasks, `--shard 1/4` to `4/4`): 4 run(s) in all; listing complete in every shard; each below |',
    );
    expect(md).toContain('## Shards');
    for (const s of back.checkpoint.shards!)
      expect(md).toContain(
        `| ${s.shard} | \`${s.path}\` | 1 | #1 started ${s.lastRun!.startedAt}, finished ${s.lastRun!.finishedAt} | complete |`,
      );
    expect(
      reportRefusals(back, m.ws, {
        maxAgeMs: HOUR,
        minWindowMs: 7 * 24 * HOUR,
        maxGapMs: 15 * 60_000,
        now: new Date(),
      }),
    ).toEqual([]);
  });

  test("a legacy write after the last run of the key's own shard is found, though other shards ran later", async () => {
    const m = await migratedInShards();
    const inShard2 = KEYS.find((k) => inShard(k, { index: 2, count: 4 }))!;
    const inShard4 = KEYS.find((k) => inShard(k, { index: 4, count: 4 }))!;
    const report = await auditShards(
      m,
      m.files,
      mockBuckets((k) => (k === inShard2 || k === inShard4 ? m.between : LONG_AGO), []),
    );
    expect(report.passed).toBe(false);
    expect(report.problems.listed.map((f) => [f.key, f.kind])).toEqual([[inShard2, 'legacy-written-after-migration']]);
  });

  test("each shard's unfinished listing or run is a migration problem that names the shard and its --shard", async () => {
    const m = await migratedInShards();
    const cp = Checkpoint.open(m.files[2], {
      env: m.ws.env,
      legacyBucket: m.ws.legacy.bucket,
      newBucket: m.ws.primary.bucket,
      prefix: '',
      shard: '3/4',
    });
    cp.resetListing();
    cp.startRun();
    cp.close();
    const report = await auditShards(
      m,
      m.files,
      mockBuckets(() => LONG_AGO, []),
    );
    expect(report.passed).toBe(false);
    expect(report.migrationProblems).toEqual([
      expect.stringMatching(
        /^shard 3\/4 \(.*checkpoint-shard-3-of-4\.sqlite\): the last migration run \(#2, started .*\) never finished: rerun the migrator with --shard 3\/4$/,
      ),
      expect.stringMatching(
        /^shard 3\/4 \(.*checkpoint-shard-3-of-4\.sqlite\): the migrator's listing of the legacy bucket did not finish: rerun the migrator with --shard 3\/4$/,
      ),
    ]);
    expect(report.checkpoint.listingComplete).toBe(false);
  });

  test('a shard missing or given twice: one line before anything is listed', async () => {
    const m = await migratedInShards();
    expect(() => openCheckpointSet(m.ws, [m.files[0], m.files[1], m.files[3]])).toThrow(
      /^shard 3\/4 is missing \(given: 1\/4, 2\/4, 4\/4\)/,
    );
    expect(() => openCheckpointSet(m.ws, [...m.files, m.files[1]])).toThrow(
      /^shard 2\/4 is given twice \(.*checkpoint-shard-2-of-4\.sqlite and .*checkpoint-shard-2-of-4\.sqlite\)/,
    );
    expect(() => openCheckpointSet(m.ws, [m.files[0]])).toThrow(/^shards 2\/4, 3\/4, 4\/4 are missing \(given: 1\/4\)/);
  });
});

describe('with Batch Operations enabled', () => {
  test("the jobs' manifests and reports under the reports prefix are left out of the new bucket's keys, and the report says so", async () => {
    const m = await migratedInShards();
    const ws: LoadedWorkspace = { ...m.ws, batchOperations: { ...m.ws.batchOperations, enabled: true } };
    const extra = [...BATCH_KEYS, 'chats/new-by-app.jpg'];
    const on = await auditShards(
      m,
      m.files,
      mockBuckets(() => LONG_AGO, extra),
      ws,
    );
    expect(on.passed).toBe(true);
    expect(on.counts).toMatchObject({ legacyKeys: 40, verified: 40, onlyInNew: 1 });
    expect(on.newListing).toEqual({
      objects: 41,
      bytes: expect.any(Number),
      notAudited: {
        prefix: 'bucketmove-batch/',
        why: expect.stringMatching(/Batch Operations/),
        objects: 2,
        bytes: 20,
      },
    });
    const base = path.join(m.dir, 'batch');
    writeAuditReport(base, on);
    expect(fs.readFileSync(`${base}.md`, 'utf8')).toMatch(
      /\| not audited in the new bucket \| keys under `bucketmove-batch\/`: S3 Batch Operations jobs' manifests and completion reports \(2 objects, 20 bytes\) \|/,
    );
    expect(readAuditReport(`${base}.json`).newListing.notAudited).toMatchObject({ objects: 2 });

    // Without the switch, the same keys are the app's, only in the new bucket.
    const off = await auditShards(
      m,
      m.files,
      mockBuckets(() => LONG_AGO, extra),
    );
    expect(off.counts.onlyInNew).toBe(3);
    expect(off.newListing.notAudited).toBeUndefined();
  });
});

describe('which checkpoint files the audit reads', () => {
  test('--shards n: the n default paths; a missing one names its shard and the command to run', async () => {
    const m = await migratedInShards();
    expect(checkpointFiles('local', { shards: 4 }, m.dir)).toEqual(m.files);
    fs.rmSync(m.files[2]);
    expect(() => checkpointFiles('local', { shards: 4 }, m.dir)).toThrow(
      /^shard 3\/4: checkpoint .*checkpoint-shard-3-of-4\.sqlite does not exist; run `npm run migrate -- --env local --shard 3\/4` first, or give the shards' checkpoints with --checkpoint$/,
    );
  });

  test('no flag: the default checkpoint; else the one set of shard checkpoints (a --workers run); two sets: the error says --shards n', async () => {
    const m = await migratedInShards();
    expect(checkpointFiles('local', {}, m.dir)).toEqual(m.files);
    fs.copyFileSync(m.files[0], path.join(path.dirname(m.files[0]), 'checkpoint-shard-1-of-2.sqlite'));
    expect(() => checkpointFiles('local', {}, m.dir)).toThrow(
      /^checkpoint .*checkpoint\.sqlite does not exist, but .*checkpoint-shard-\*-of-2\|4\.sqlite do: give --shards 2 or --shards 4$/,
    );
    const empty = tmpDir();
    expect(checkpointFiles('local', {}, empty)).toEqual([
      path.join(empty, '.bucketmove', 'local', 'checkpoint.sqlite'),
    ]);
    expect(checkpointFiles('local', { checkpoints: ['a.sqlite', 'b.sqlite'] })).toEqual(['a.sqlite', 'b.sqlite']);
    expect(() => checkpointFiles('local', { checkpoints: ['a.sqlite'], shards: 2 })).toThrow(
      /^give one of --shards n .*, --checkpoint for each shard, or --migrate-report for each shard, not several$/,
    );
  });

  test("--migrate-report: each report's checkpoint, where it was written or beside the report; anything else one line", () => {
    const dir = tmpDir();
    const write = (name: string, body: unknown) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
      return file;
    };
    const there = write('there.sqlite', '');
    fs.mkdirSync(path.join(dir, 'gathered'));
    const beside = path.join(dir, 'gathered', 'checkpoint-shard-2-of-2.sqlite');
    fs.writeFileSync(beside, '');
    const r1 = write('r1.json', { tool: 'bucketmove migrate', env: 'local', checkpoint: there, shard: '1/2' });
    const r2 = path.join(dir, 'gathered', 'r2.json');
    fs.writeFileSync(
      r2,
      JSON.stringify({
        tool: 'bucketmove migrate',
        env: 'local',
        checkpoint: '/elsewhere/.bucketmove/local/checkpoint-shard-2-of-2.sqlite',
      }),
    );
    expect(checkpointFiles('local', { reports: [r1, r2] })).toEqual([there, beside]);
    expect(
      checkpointOfReport('local', write('job.json', { tool: 'bucketmove batch', env: 'local', checkpoint: there })),
    ).toBe(there);
    const refusals: [string, RegExp][] = [
      [
        path.join(dir, 'absent.json'),
        /^--migrate-report .*absent\.json does not exist: give the \.json report npm run migrate \(or npm run batch\) wrote$/,
      ],
      [write('text.json', 'not json'), /^--migrate-report .*text\.json is not a JSON report: give/],
      [
        write('audit.json', { tool: 'bucketmove audit', env: 'local' }),
        /^--migrate-report .*audit\.json is not a report of npm run migrate or npm run batch/,
      ],
      [
        write('prod.json', { tool: 'bucketmove migrate', env: 'prod', checkpoint: there }),
        /^--migrate-report .*prod\.json is a report of env "prod", not "local"$/,
      ],
      [
        write('lost.json', { tool: 'bucketmove migrate', env: 'local', checkpoint: '/nowhere/cp.sqlite' }),
        /^--migrate-report .*lost\.json names checkpoint \/nowhere\/cp\.sqlite, which is neither there nor beside the report/,
      ],
    ];
    for (const [file, pattern] of refusals) expect(() => checkpointOfReport('local', file)).toThrow(pattern);
    expect(() => checkpointFiles('local', { reports: [r1], shards: 2 })).toThrow(/not several$/);
  });
});

describe('npm run audit with shards: bad input is one line, exit 2, nothing written', () => {
  test.each([
    [
      ['--shards', '4'],
      /^audit: shard 1\/4: checkpoint \.bucketmove\/dev\/checkpoint-shard-1-of-4\.sqlite does not exist; run `npm run migrate -- --env dev --shard 1\/4` first/,
    ],
    [['--shards', '0'], /^audit: --shards must be a whole number from 1 to 4096 \(got 0\)\n$/],
    [
      ['--shards', '2', '--checkpoint', 'a.sqlite'],
      /^audit: give one of --shards n \(the default checkpoint of each shard\), --checkpoint for each shard, or --migrate-report for each shard, not several\n$/,
    ],
    [
      ['--migrate-report', 'nowhere.json'],
      /^audit: --migrate-report nowhere\.json does not exist: give the \.json report npm run migrate \(or npm run batch\) wrote\n$/,
    ],
  ])('%j', async (args, pattern) => {
    const cwd = tmpDir();
    const run = await runCliScript('audit', ['--env', 'dev', ...(args as string[])], { cwd });
    expect({ code: run.code, stderr: run.stderr, stdout: run.stdout }).toEqual({
      code: 2,
      stderr: expect.stringMatching(pattern as RegExp),
      stdout: '',
    });
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

describe("the migrator's conditional-write probe prefix", () => {
  test('a probe key a killed run left is not counted as an app photo; the report says it is there', async () => {
    const m = await migratedInShards();
    const leftover = `${PROBE_PREFIX}0b9e5f7a-0000-4000-8000-000000000000`;
    const report = await auditShards(
      m,
      m.files,
      mockBuckets(() => LONG_AGO, [leftover, 'chats/new-by-app.jpg']),
    );
    expect(report.passed).toBe(true);
    expect(report.counts).toMatchObject({ legacyKeys: 40, verified: 40, onlyInNew: 1 });
    expect(report.newListing).toEqual({
      objects: 41,
      bytes: expect.any(Number),
      probeLeftovers: { prefix: PROBE_PREFIX, objects: 1, bytes: 10 },
    });
    const base = path.join(m.dir, 'probe');
    writeAuditReport(base, report);
    expect(fs.readFileSync(`${base}.md`, 'utf8')).toContain(
      "| not audited in the new bucket | keys under `.bucketmove/probe/`: the migrator's conditional-write probe, left by a killed run (1 objects, 10 bytes) |",
    );
    expect(readAuditReport(`${base}.json`).newListing.probeLeftovers).toMatchObject({ objects: 1 });
  });
});
