/**
 * The audit on the real RGW, after a real migration (the migrator's MigrationRun with its checkpoint): clean when
 * everything was copied, and each defect found on the key it was made on: a missing key, a size mismatch, a hash
 * mismatch (bytes altered in the new bucket: by --deep; a copy whose provenance disagrees with the checkpoint:
 * without), a quarantined object, a legacy object added after the migration, fallback hits in the window (logged by the
 * app's store itself, reading in dual-read mode).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { FALLBACK_HIT_EVENT } from '../../migrator/src/audit/fallback-event';
import { listObjects } from '../../migrator/src/audit/list-objects';
import { digestListing } from '../../migrator/src/audit/listing-digest';
import type { AuditReport } from '../../migrator/src/audit/report';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { PROVENANCE } from '../../migrator/src/objects/provenance';
import { planObjects, type PlannedObject } from '../../migrator/src/seed/plan';
import { photoBytes } from '../../migrator/src/seed/seeder';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { collect } from '../helpers/streams';
import { runningAppHeartbeats } from '../helpers/heartbeats';
import { tmpDirPerFile } from '../helpers/tmp';
import { createLogger } from '../../migrator/src/log';
import { createStore } from '../../migrator/src/store';
import { auditMigration } from './helpers/audit';
import { dropMigration, freshMigration, migrate, seed, storeSide, type TestMigration } from './helpers/own-buckets';

jest.setTimeout(120_000);
const tmpDir = tmpDirPerFile('bm-audit-');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const DAY = 86_400_000;

function logLine(fields: Record<string, unknown>): string {
  return `${JSON.stringify(fields)}\n`;
}

const audit = auditMigration;

const problemsOf = (r: AuditReport) => r.problems.listed.map((f) => [f.key, f.kind]).sort();

describe('the audit after a full migration on the RGW', () => {
  let m: TestMigration;
  let objects: PlannedObject[];
  let logFile: string;
  const appKey = 'chats/app-rewrote-this.jpg';
  const appOnlyKey = 'chats/new-photo-after-expand.jpg';

  beforeAll(async () => {
    const dir = tmpDir();
    m = await freshMigration('audit', dir);
    const planned = planObjects({
      count: 20,
      size: parseSizeSpec('1KiB-48KiB'),
      oddKeys: true,
      seed: 'audit',
      prefix: 'chats/',
    });
    expect(planned.filter((o) => !o.encrypted).map((o) => o.key)).toEqual(['chats/odd-keys/photos/folder-marker/']);
    // Keys whose UTF-8 byte order differs from JavaScript's string order (U+FF01 sorts before U+1F600 in UTF-8).
    const ordering = ['order/\u{1F600}.jpg', 'order/\uFF01.jpg', 'order/\uE000.jpg', 'order/z.jpg'].map((key, i) => ({
      ...planned.find((o) => o.encrypted && !o.odd)!,
      index: 1000 + i,
      key,
      odd: 'byte order',
    }));
    const appVersion = { ...planned.find((o) => o.encrypted && !o.odd)!, index: 2000, key: appKey, odd: undefined };
    objects = [...planned, ...ordering, appVersion];
    await seed(m, objects);
    // The app wrote one key in the new bucket before the migrator reached it, and one photo only there.
    for (const Key of [appKey, appOnlyKey]) {
      await m.primary.s3.send(
        new PutObjectCommand({
          Bucket: m.primary.bucket,
          Key,
          Body: Buffer.from(`the app's own ${Key}`),
          ContentType: 'image/jpeg',
        }),
      );
    }
    const result = await migrate(m);
    expect(result.exitCode).toBe(0);
    expect(result.run.totals.quarantined.count).toBe(0);
    expect(result.run.totals['kept-app-version'].count).toBe(1);
    expect(result.run.totals.copied.count).toBe(objects.length - 1);
    logFile = path.join(dir, 'photo-service.log');
    fs.writeFileSync(
      logFile,
      [
        logLine({
          level: 'info',
          time: new Date(Date.now() - 9 * DAY).toISOString(),
          event: FALLBACK_HIT_EVENT,
          key: objects[0].key,
        }), // before the window
        logLine({ level: 'info', time: new Date().toISOString(), event: 'http.request', key: objects[0].key }),
        'not json at all\n',
        runningAppHeartbeats(),
      ].join(''),
    );
  });
  afterAll(() => dropMigration(m));

  test("is clean: every legacy key verified or the app's own, zero fallback hits in the window", async () => {
    const r = await audit(m, logFile);
    expect(r.reasons).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r.counts).toMatchObject({
      legacyKeys: objects.length,
      verified: objects.length - 1,
      appVersion: 1,
      problemKeys: 0,
      onlyInNew: 1,
      checkpointOnly: 0,
      deepCompared: 0,
    });
    expect(r.notices.listed).toEqual([
      { key: appKey, kind: 'app-version', message: expect.stringContaining('kept as the app wrote it') },
    ]);
    expect(r.fallback).toMatchObject({
      hits: 0,
      lines: { read: 3 + 2310, untimedHits: 0 },
      coverage: { processes: 1, fallbackHits: 0 },
    });
    expect(r.migrationProblems).toEqual([]);
    expect(r.newListing.objects).toBe(objects.length + 1);
  });

  test('digests the legacy listing exactly as a separate listing does', async () => {
    const r = await audit(m, logFile);
    const again = await digestListing(listObjects(m.legacy.s3, m.legacy.bucket));
    expect(r.legacyListing).toMatchObject({ digest: again.digest, objects: objects.length, bytes: again.bytes });
  });

  test('the listings come in UTF-8 byte order, which is not JavaScript string order', async () => {
    const keys: string[] = [];
    for await (const o of listObjects(m.legacy.s3, m.legacy.bucket)) if (o.key.startsWith('order/')) keys.push(o.key);
    expect(keys).toEqual(['order/z.jpg', 'order/\uE000.jpg', 'order/\uFF01.jpg', 'order/\u{1F600}.jpg']);
    expect([...keys].sort()).not.toEqual(keys);
  });

  test('--deep re-reads both sides of every migrated key and finds them equal', async () => {
    const r = await audit(m, logFile, { deep: true });
    expect(r.passed).toBe(true);
    expect(r.counts.deepCompared).toBe(objects.length - 1);
  });

  test('an interrupted audit returns no report', async () => {
    const stop = new AbortController();
    stop.abort(new Error('interrupted'));
    await expect(audit(m, logFile, { signal: stop.signal })).rejects.toThrow();
  });

  describe('after damage', () => {
    const damaged: Record<string, string> = {};
    let before: AuditReport;

    beforeAll(async () => {
      const pick = (i: number) => objects.filter((o) => o.size > 16 && !o.odd)[i];
      const headMeta = async (key: string) =>
        (await m.primary.s3.send(new HeadObjectCommand({ Bucket: m.primary.bucket, Key: key }))).Metadata ?? {};
      const put = (Key: string, Body: Buffer, Metadata: Record<string, string>) =>
        m.primary.s3.send(
          new PutObjectCommand({ Bucket: m.primary.bucket, Key, Body, Metadata, ContentType: 'image/jpeg' }),
        );

      damaged.missing = pick(0).key;
      await m.primary.s3.send(new DeleteObjectCommand({ Bucket: m.primary.bucket, Key: damaged.missing }));

      damaged.size = pick(1).key; // the bytes were cut short; the metadata was kept
      await put(damaged.size, photoBytes('audit', pick(1)).subarray(0, pick(1).size - 7), await headMeta(damaged.size));

      damaged.silent = pick(2).key; // same size, one byte flipped, provenance kept: only a re-read can tell
      const flipped = Buffer.from(photoBytes('audit', pick(2)));
      flipped[Math.floor(flipped.length / 2)] ^= 0xff;
      await put(damaged.silent, flipped, await headMeta(damaged.silent));

      damaged.rehashed = pick(3).key; // other bytes, with provenance that describes them: the checkpoint disagrees
      const other = Buffer.alloc(pick(3).size, 0x42);
      await put(damaged.rehashed, other, {
        ...(await headMeta(damaged.rehashed)),
        [PROVENANCE.plaintextSha256]: sha256(other),
      });

      before = await audit(m, logFile);
      // A legacy object written after the last migration run started (S3 keeps whole seconds: wait for the next one).
      const runStart = Date.parse(before.checkpoint.lastRun!.startedAt);
      await new Promise((r) => setTimeout(r, Math.max(0, Math.floor(runStart / 1000) * 1000 + 1100 - Date.now())));
      damaged.late = 'chats/late/written-after-migration.jpg';
      await m.legacy.s3.send(
        new PutObjectCommand({
          Bucket: m.legacy.bucket,
          Key: damaged.late,
          Body: m.codec.encrypt(Buffer.from('late'), { key: damaged.late }),
        }),
      );

      // The app's store, in dual-read, logging to the app's log: two reads fall back to legacy (the keys missing from
      // the new bucket), and each writes its fallback-hit line.
      fs.appendFileSync(
        logFile,
        logLine({
          level: 'info',
          time: new Date(Date.now() - DAY).toISOString(),
          event: FALLBACK_HIT_EVENT,
          key: 'chats/yesterday.jpg',
        }),
      );
      const store = await createStore(
        {
          mode: 'dual-read',
          primary: storeSide(m.primary, 'primaryAdmin'),
          legacy: { ...storeSide(m.legacy, 'legacyAdmin'), codec: m.ws.codec },
          encryption: { type: 'SSE-S3' },
          copyOnMiss: false,
          timeoutMs: 10_000,
          maxAttempts: 3,
        },
        { logger: createLogger({ name: 'photo-store', destination: logFile }), env: { LEGACY_FERNET_KEYS: m.keys[0] } },
      );
      for (const key of [damaged.missing, damaged.late]) {
        const photo = await store.get(key);
        expect(photo).toBeDefined();
        await collect(photo!.body);
      }
      expect(store.counters.snapshot().fallbackHits).toBe(2);
      await store.close(); // its last heartbeat, counting the 2 hits, goes to the log too
    });

    test('the damage the metadata shows is found on its key, and the rest stays verified', async () => {
      const r = await audit(m, logFile);
      expect(problemsOf(r)).toEqual(
        [
          [damaged.missing, 'missing'],
          [damaged.size, 'size-mismatch'],
          [damaged.rehashed, 'hash-mismatch'],
          [damaged.late, 'legacy-written-after-migration'],
          [damaged.late, 'missing'],
        ].sort(),
      );
      expect(r.counts.problemKeys).toBe(4);
      expect(r.counts.verified).toBe(objects.length - 1 - 3);
      expect(r.passed).toBe(false);
      expect(before.passed).toBe(false);
    });

    test('the silently altered bytes pass the metadata checks and are caught by --deep', async () => {
      const shallow = await audit(m, logFile);
      expect(shallow.problems.listed.filter((f) => f.key === damaged.silent)).toEqual([]);
      const deep = await audit(m, logFile, { deep: true });
      const found = deep.problems.listed.filter((f) => f.key === damaged.silent);
      expect(found).toEqual([
        {
          key: damaged.silent,
          kind: 'hash-mismatch',
          message: expect.stringMatching(/^deep: the new object's bytes hash to [0-9a-f]{64}; provenance records/),
        },
      ]);
      // --deep also re-reads the re-hashed copy: its bytes differ from the legacy plaintext.
      expect(deep.problems.listed.filter((f) => f.key === damaged.rehashed).map((f) => f.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^deep: the legacy plaintext hashes to/)]),
      );
    });

    test('--sample N re-reads N verified keys, drawn again the same way from the same seed', async () => {
      const a = await audit(m, logFile, { sample: 5, sampleSeed: 'fixed' });
      const b = await audit(m, logFile, { sample: 5, sampleSeed: 'fixed' });
      expect(a.counts.deepCompared).toBe(5);
      expect(a.options).toMatchObject({ sample: 5, sampleSeed: 'fixed' });
      expect(problemsOf(a)).toEqual(problemsOf(b));
      const all = await audit(m, logFile, { sample: 1000 });
      expect(all.problems.listed.filter((f) => f.key === damaged.silent).map((f) => f.kind)).toEqual(['hash-mismatch']);
    });

    test('fallback hits in the window fail the audit; hits before the window do not count', async () => {
      const r = await audit(m, logFile);
      expect(r.fallback).toMatchObject({
        hits: 3,
        sampleKeys: expect.arrayContaining([damaged.missing, damaged.late, 'chats/yesterday.jpg']),
      });
      expect(r.reasons.join('\n')).toMatch(/3 fallback hit\(s\) between .* the app still reads from the legacy bucket/);
      const narrow = await audit(m, logFile, { window: { start: new Date(Date.now() - 3_600_000), end: new Date() } });
      expect(narrow.fallback).toMatchObject({ hits: 2, sampleKeys: [damaged.missing, damaged.late] });
    });

    test('the digest changes with the legacy object added', async () => {
      const r = await audit(m, logFile);
      expect(r.legacyListing.digest).not.toBe(before.legacyListing.digest);
      expect(r.legacyListing.objects).toBe(before.legacyListing.objects + 1);
    });
  });
});

describe('the audit of a migration with a quarantined object', () => {
  test('reports the quarantined key (and that it is missing), and a run that never finished', async () => {
    const dir = tmpDir();
    const m = await freshMigration('audit-q', dir);
    try {
      const objects = planObjects({
        count: 4,
        size: parseSizeSpec('1KiB-8KiB'),
        oddKeys: false,
        seed: 'q',
        prefix: 'chats/',
      });
      await seed(m, objects, 'q');
      const bad = 'chats/tampered.jpg';
      const token = m.codec.encrypt(Buffer.from('a photo'), { key: bad });
      token[token.length - 5] = token[token.length - 5] === 0x41 ? 0x42 : 0x41; // a changed byte: the HMAC fails
      await m.legacy.s3.send(new PutObjectCommand({ Bucket: m.legacy.bucket, Key: bad, Body: token }));
      const result = await migrate(m);
      expect(result.run.totals.quarantined.count).toBe(1);
      const logFile = path.join(dir, 'empty.log');
      fs.writeFileSync(logFile, '');

      const r = await audit(m, logFile);
      expect(problemsOf(r)).toEqual([
        [bad, 'missing'],
        [bad, 'quarantined'],
      ]);
      expect(r.problems.listed.find((f) => f.kind === 'quarantined')!.message).toMatch(
        /^checkpoint state quarantined \(Codec\.auth/,
      );
      expect(r.counts).toMatchObject({ legacyKeys: 5, verified: 4, problemKeys: 1 });
      expect(r.passed).toBe(false);

      // A run that started and never finished (a crash) fails the audit too.
      const cp = Checkpoint.open(m.checkpointFile, {
        env: m.ws.env,
        legacyBucket: m.ws.legacy.bucket,
        newBucket: m.ws.primary.bucket,
        prefix: '',
      });
      cp.startRun();
      cp.close();
      const crashed = await audit(m, logFile);
      expect(crashed.migrationProblems).toEqual([
        expect.stringMatching(/^the last migration run \(#2, started .*\) never finished: rerun the migrator$/),
      ]);
    } finally {
      await dropMigration(m);
    }
  });
});

test('a legacy object changed after it was copied is a stale copy (source-changed)', async () => {
  const dir = tmpDir();
  const m = await freshMigration('audit-s', dir);
  try {
    const objects = planObjects({
      count: 2,
      size: parseSizeSpec('1KiB-4KiB'),
      oddKeys: false,
      seed: 's',
      prefix: 'chats/',
    });
    await seed(m, objects, 's');
    await migrate(m);
    const logFile = path.join(dir, 'empty.log');
    fs.writeFileSync(logFile, '');
    const key = objects[0].key;
    const old = await m.legacy.s3.send(new GetObjectCommand({ Bucket: m.legacy.bucket, Key: key }));
    await old.Body!.transformToByteArray();
    await m.legacy.s3.send(
      new PutObjectCommand({
        Bucket: m.legacy.bucket,
        Key: key,
        Body: m.codec.encrypt(Buffer.from('rewritten'), { key }),
      }),
    );
    const r = await audit(m, logFile);
    expect(r.problems.listed.filter((f) => f.key === key).map((f) => f.kind)).toContain('source-changed');
    expect(r.passed).toBe(false);
  } finally {
    await dropMigration(m);
  }
});
