/**
 * The migrator on the real RGW: what lands in the new bucket (byte-identical, checked with /usr/bin/aws too),
 * odd keys, empty objects, a 65 MiB object, 1,000+ keys across listing pages, app writes left alone, quarantine,
 * the delete race, and --dry-run writing nothing.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { createSideClient } from '../../migrator/src/aws/clients';
import { createCodec } from '../../migrator/src/codec';
import { FernetCodec } from '../../migrator/src/codec/fernet';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { TOMBSTONE } from '../../workspaces/object-markers';
import { PROVENANCE } from '../../migrator/src/objects/provenance';
import { missingFromLegacy } from '../../migrator/src/migrate/recheck-deletes';
import { abortLostTwins } from '../../migrator/src/migrate/upload-ledger';
import { parseCsvLine } from '../../migrator/src/report/batch-csv';
import { planObjects } from '../../migrator/src/seed/plan';
import { seedLegacy } from '../../migrator/src/seed/seeder';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { legacyPython } from '../helpers/python-legacy';
import { hookedCodec } from '../helpers/fakes';
import { tmpDirPerFile } from '../helpers/tmp';
import {
  fernetKey,
  awsCliOnNew,
  getNew,
  getNewWithAwsCli,
  headNew,
  listKeys,
  migrateCli,
  migrateLib,
  multipartUploadsUnder,
  putLegacy,
  putNewAsApp,
  sha256,
  writeWorkspace,
} from './helpers/migration';
import { rigState, s3As, testWorkspace, uniqueKey } from './helpers/rig';
import { MIB } from '../../workspaces/units';

const tmp = tmpDirPerFile('bm-mig-');

function csvRows(file: string): string[][] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(parseCsvLine);
}

function fernetCodec(): FernetCodec {
  return new FernetCodec([fernetKey()], { storage: 'base64url-text', maxObjectBytes: 256 * MIB });
}

describe('Fernet objects made by Python, odd keys, empty objects and a 65 MiB object', () => {
  const prefix = `${uniqueKey('mig-fidelity')}/`;
  const expected = new Map<
    string,
    { sha: string; size: number; contentType?: string; metadata?: Record<string, string> }
  >();
  let outcome: Awaited<ReturnType<typeof migrateLib>>;

  beforeAll(async () => {
    // Objects the way the legacy app wrote them, with Python's cryptography.
    for (const [name, size] of [
      ['py-empty.jpg', 0],
      ['py-small.jpg', 1000],
      ['py-300k.jpg', 300_000],
    ] as const) {
      const plain = randomBytes(size);
      await putLegacy(`${prefix}${name}`, legacyPython('fernet-encrypt', plain, [fernetKey()]), 'image/jpeg', {
        'uploaded-by': 'user-7',
      });
      expected.set(`${prefix}${name}`, {
        sha: sha256(plain),
        size,
        contentType: 'image/jpeg',
        metadata: { 'uploaded-by': 'user-7' },
      });
    }
    // The seeder's odd keys (spaces, +, %, unicode, deep prefixes, a 1024-byte key, an empty photo, a folder marker).
    const ws = testWorkspace((w) => (w.migration.credentials = 'static'));
    const writer = createSideClient(ws, 'legacy', { env: {} });
    const objects = planObjects({
      count: 2,
      size: parseSizeSpec('1KiB-64KiB'),
      oddKeys: true,
      seed: 'mig',
      prefix: `${prefix}odd/`,
    });
    const { entries } = await seedLegacy({
      client: writer,
      codec: createCodec(ws.codec, [fernetKey()], __dirname),
      objects,
      seed: 'mig',
      concurrency: 4,
    });
    writer.destroy();
    for (const e of entries)
      expected.set(e.key, { sha: e.sha256, size: e.size, contentType: e.contentType, metadata: e.metadata });
    // Over 64 MiB: goes multipart (two passes, parts of 8 MiB).
    const big = randomBytes(65 * MIB + 123);
    await putLegacy(`${prefix}big/scan.jpg`, fernetCodec().encrypt(big));
    expected.set(`${prefix}big/scan.jpg`, { sha: sha256(big), size: big.length });
    outcome = await migrateLib(testWorkspace(), tmp(), prefix, { partSize: 8 * MIB });
  }, 180_000);

  test('the run is complete and says so', () => {
    expect(outcome.summary).toMatchObject({ complete: true, exitCode: 0, notMigrated: 0 });
    expect(outcome.summary.run.totals.copied.count).toBe(expected.size);
  });

  test('every object lands decrypted, byte-identical, with its content type, user metadata and provenance', async () => {
    expect((await listKeys('primary', prefix)).sort()).toEqual([...expected.keys()].sort());
    for (const [key, want] of expected) {
      const got = (await getNew(key))!;
      expect({ key, sha: sha256(got.body), size: got.body.length }).toEqual({ key, sha: want.sha, size: want.size });
      if (want.contentType) expect(got.contentType).toBe(want.contentType);
      expect(got.metadata).toMatchObject({
        ...(want.metadata ?? {}),
        [PROVENANCE.plaintextSha256]: want.sha,
        [PROVENANCE.plaintextSize]: String(want.size),
      });
      expect(got.metadata[PROVENANCE.sourceEtag]).toMatch(/^[0-9a-f]{32}(-\d+)?$/);
    }
  });

  test('an independent client (/usr/bin/aws) reads the same bytes and the provenance', async () => {
    const dir = tmp();
    for (const key of [
      `${prefix}py-300k.jpg`,
      `${prefix}big/scan.jpg`,
      [...expected.keys()].find((k) => k.includes('holiday photo'))!,
    ]) {
      const got = await getNewWithAwsCli(key, dir);
      expect(got.code).toBe(0);
      expect(sha256(got.body!)).toBe(expected.get(key)!.sha);
      const head = await awsCliOnNew('head-object', key);
      expect(JSON.parse(head.stdout).Metadata[PROVENANCE.plaintextSha256]).toBe(expected.get(key)!.sha);
    }
  });

  test('no multipart upload is left behind', async () => {
    expect(await multipartUploadsUnder(prefix)).toBe(0);
  });

  test('the report has one succeeded Batch Operations row per key', () => {
    const rows = csvRows(outcome.files.csv);
    expect(rows).toHaveLength(expected.size);
    expect(
      rows.every((r) => r.length === 7 && r[0] === rigState().buckets.legacy && r[3] === 'succeeded' && r[5] === '200'),
    ).toBe(true);
    expect(rows.map((r) => decodeURIComponent(r[1])).sort()).toEqual([...expected.keys()].sort());
  });

  test('a second run with a fresh checkpoint copies nothing again: every key is already migrated', async () => {
    const again = await migrateLib(testWorkspace(), tmp(), prefix, { partSize: 8 * MIB });
    expect(again.summary.run.totals['already-migrated'].count).toBe(expected.size);
    expect(again.summary.exitCode).toBe(0);
  }, 120_000);
});

describe('AES-256-GCM objects made by Python, into an SSE-KMS bucket (the RGW test key)', () => {
  const prefix = `${uniqueKey('mig-gcm')}/`;
  const gcmKey = randomBytes(32).toString('base64');
  const objects = new Map<string, Buffer>();
  let kmsKey: string;

  beforeAll(async () => {
    process.env.TEST_GCM_KEYS = gcmKey;
    kmsKey = rigState().kms!.keyId;
    for (const [name, size] of [
      ['a.jpg', 10],
      ['b b.jpg', 200_000],
      ['large.jpg', 20 * MIB],
    ] as const) {
      const plain = randomBytes(size);
      const key = `${prefix}${name}`;
      await putLegacy(key, legacyPython('gcm-encrypt', plain, [gcmKey], key));
      objects.set(key, plain);
    }
  }, 60_000);

  test('they decrypt with the object key as AAD and land encrypted with aws:kms and the configured key id', async () => {
    const ws = testWorkspace((w) => {
      w.codec = { type: 'aes-256-gcm', keys: { env: 'TEST_GCM_KEYS' }, aad: 'object-key', maxObjectBytes: 64 * MIB };
      w.primary.encryption = { type: 'SSE-KMS', kmsKeyArn: kmsKey, bucketKey: true };
    });
    const { summary } = await migrateLib(ws, tmp(), prefix, { partSize: 8 * MIB });
    expect(summary).toMatchObject({ complete: true, exitCode: 0 });
    for (const [key, plain] of objects) {
      expect(sha256((await getNew(key))!.body)).toBe(sha256(plain));
      const head = await awsCliOnNew('head-object', key);
      expect(head.code).toBe(0);
      expect(JSON.parse(head.stdout)).toMatchObject({
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: kmsKey,
        ContentLength: plain.length,
      });
    }
  }, 120_000);
});

describe('1,000+ keys across listing pages', () => {
  test('every key of 1,050 is copied once; memory-light paging of the checkpoint', async () => {
    const prefix = `${uniqueKey('mig-many')}/`;
    const ws = testWorkspace((w) => (w.migration.credentials = 'static'));
    const writer = createSideClient(ws, 'legacy', { env: {} });
    const objects = planObjects({ count: 1050, size: parseSizeSpec('100-2KiB'), oddKeys: false, seed: 'many', prefix });
    await seedLegacy({
      client: writer,
      codec: createCodec(ws.codec, [fernetKey()], __dirname),
      objects,
      seed: 'many',
      concurrency: 32,
    });
    writer.destroy();
    const dir = tmp();
    const { summary } = await migrateLib(testWorkspace(), dir, prefix, { concurrency: 32 });
    expect(summary).toMatchObject({ complete: true, exitCode: 0 });
    expect(summary.run.totals.copied.count).toBe(1050);
    expect((await listKeys('primary', prefix)).length).toBe(1050);
    const cp = Checkpoint.openReadOnly(path.join(dir, 'checkpoint.sqlite'));
    expect(cp.listCursor().complete).toBe(true);
    expect([...cp.rows()].every((r) => r.attempts === 1)).toBe(true);
    cp.close();
  }, 180_000);
});

describe('what the app wrote, and what cannot be decrypted', () => {
  const prefix = `${uniqueKey('mig-keep')}/`;
  const fernet = fernetCodec();
  const other = new FernetCodec([Buffer.alloc(32, 1).toString('base64url')], {
    storage: 'base64url-text',
    maxObjectBytes: MIB,
  });
  const appBytes = Buffer.from('the photo the app wrote after the cut-over');
  let outcome: Awaited<ReturnType<typeof migrateLib>>;
  let dir: string;

  beforeAll(async () => {
    await putLegacy(`${prefix}rewritten.jpg`, fernet.encrypt(Buffer.from('old legacy bytes')));
    await putNewAsApp(`${prefix}rewritten.jpg`, appBytes);
    await putLegacy(`${prefix}good.jpg`, fernet.encrypt(Buffer.from('good')));
    const tampered = Buffer.from(
      fernet
        .encrypt(Buffer.alloc(500, 3))
        .toString()
        .replace(/^(.{40})(.)/, (_m, a, c) => a + (c === 'A' ? 'B' : 'A')),
    );
    await putLegacy(`${prefix}bad/tampered.jpg`, tampered);
    await putLegacy(`${prefix}bad/wrong-key.jpg`, other.encrypt(Buffer.from('rotated away')));
    await putLegacy(`${prefix}bad/plain.jpg`, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]));
    const token = fernet.encrypt(Buffer.alloc(5000, 9));
    await putLegacy(`${prefix}bad/truncated.jpg`, token.subarray(0, token.length - 10));
    dir = tmp();
    outcome = await migrateLib(testWorkspace(), dir, prefix);
  }, 60_000);

  test('an object the app wrote to the new bucket before the migrator reached it is untouched and reported as kept', async () => {
    expect((await getNew(`${prefix}rewritten.jpg`))!.body.equals(appBytes)).toBe(true);
    const row = csvRows(outcome.files.csv).find((r) => r[1].endsWith('rewritten.jpg'))!;
    expect(row.slice(3, 6)).toEqual(['succeeded', '', '412']);
  });

  test('tampered, wrong-key, foreign and truncated objects are quarantined with their reason, and nothing of them is written', async () => {
    expect(outcome.summary.exitCode).toBe(1);
    expect(outcome.summary.run.totals.quarantined.count).toBe(4);
    const rows = new Map(csvRows(outcome.files.csv).map((r) => [decodeURIComponent(r[1]).slice(prefix.length), r]));
    expect(rows.get('bad/tampered.jpg')!.slice(3, 5)).toEqual(['failed', 'Codec.auth']);
    expect(rows.get('bad/wrong-key.jpg')!.slice(3, 5)).toEqual(['failed', 'Codec.auth']);
    expect(rows.get('bad/plain.jpg')!.slice(3, 5)).toEqual(['failed', 'Codec.format']);
    expect(rows.get('bad/truncated.jpg')!.slice(3, 5)).toEqual(['failed', 'Codec.truncated']);
    expect(rows.get('good.jpg')![3]).toBe('succeeded');
    expect(await listKeys('primary', `${prefix}bad/`)).toEqual([]);
    expect(fs.readFileSync(outcome.files.csv, 'utf8')).not.toContain(fernetKey());
  });

  test('a rerun leaves quarantined objects alone; --retry-quarantined tries them again', async () => {
    const again = await migrateLib(testWorkspace(), dir, prefix);
    expect(again.summary.run.processed.quarantined).toBe(0);
    await putLegacy(`${prefix}bad/wrong-key.jpg`, fernet.encrypt(Buffer.from('re-encrypted with the current key')));
    const retry = await migrateLib(testWorkspace(), dir, prefix, { retryQuarantined: true });
    expect(retry.summary.run.processed.copied).toBe(1);
    expect(retry.summary.run.totals.quarantined.count).toBe(3);
    expect((await getNew(`${prefix}bad/wrong-key.jpg`))!.body.toString()).toBe('re-encrypted with the current key');
  });
});

describe('deletes by the app during the migration', () => {
  test("a photo the app's store deletes while its copy is in flight: the tombstone refuses the copy", async () => {
    const prefix = `${uniqueKey('mig-tomb')}/`;
    const fernet = fernetCodec();
    await putLegacy(`${prefix}a.jpg`, fernet.encrypt(Buffer.from('a')));
    const legacyApp = s3As('legacyApp');
    const primaryApp = s3As('primaryApp');
    // What the store does on delete in dual-read: legacy first, then a tombstone in new (store/new-side.ts).
    const codec = hookedCodec(fernet, async (key) => {
      await legacyApp.send(new DeleteObjectCommand({ Bucket: rigState().buckets.legacy, Key: key }));
      await primaryApp.send(
        new PutObjectCommand({
          Bucket: rigState().buckets.primary,
          Key: key,
          Body: Buffer.alloc(0),
          Metadata: { [TOMBSTONE.metadataKey]: 'now' },
        }),
      );
    });
    const { summary } = await migrateLib(testWorkspace(), tmp(), prefix, { codec });
    expect(summary).toMatchObject({ complete: true, exitCode: 0 });
    expect(summary.run.totals['deleted-during-copy'].count).toBe(1);
    const left = await headNew(`${prefix}a.jpg`);
    expect([left.ContentLength, left.Metadata?.[PROVENANCE.sourceEtag]]).toEqual([0, undefined]);
  });

  test('a photo deleted while its copy is in flight stays deleted; one deleted before it was read is reported gone', async () => {
    const prefix = `${uniqueKey('mig-delete')}/`;
    const fernet = fernetCodec();
    for (const k of ['a-racing.jpg', 'b-later.jpg', 'c-kept.jpg'])
      await putLegacy(`${prefix}${k}`, fernet.encrypt(Buffer.from(k)));
    const legacyApp = s3As('legacyApp');
    const del = (key: string) =>
      legacyApp.send(new DeleteObjectCommand({ Bucket: rigState().buckets.legacy, Key: key }));
    // The app's delete (legacy first, then new) lands after the migrator read a-racing.jpg and before it writes it;
    // and b-later.jpg goes while a-racing.jpg is in flight, before the migrator reads it.
    const codec = hookedCodec(fernet, async (key) => {
      if (key.endsWith('a-racing.jpg')) {
        await del(`${prefix}a-racing.jpg`);
        await del(`${prefix}b-later.jpg`);
      }
    });
    const { summary, files } = await migrateLib(testWorkspace(), tmp(), prefix, { codec, concurrency: 1 });
    expect(summary).toMatchObject({ complete: true, exitCode: 0 });
    expect(summary.run.totals['deleted-during-copy'].count).toBe(1);
    expect(summary.run.totals.vanished.count).toBe(1);
    expect(await listKeys('primary', prefix)).toEqual([`${prefix}c-kept.jpg`]);
    expect(fs.readFileSync(files.csv, 'utf8')).toContain(
      'Deleted by the app during the copy; its tombstone refused the copy, or the copy was removed',
    );
  });
});

describe('the delete recheck lists around gaps', () => {
  test('a key with more than a page of other keys just before it is still judged right (continuation, not a guess)', async () => {
    const prefix = `${uniqueKey('mig-recheck')}/`;
    const legacyApp = s3As('legacyApp');
    const names = Array.from({ length: 1003 }, (_, i) => `a${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names
          .slice(i, i + 50)
          .map((n) =>
            legacyApp.send(
              new PutObjectCommand({ Bucket: rigState().buckets.legacy, Key: `${prefix}${n}`, Body: 'x' }),
            ),
          ),
      );
    }
    await legacyApp.send(new PutObjectCommand({ Bucket: rigState().buckets.legacy, Key: `${prefix}b`, Body: 'x' }));
    const reader = createSideClient(testWorkspace(), 'legacy');
    try {
      const gone = await missingFromLegacy({ client: reader.s3, bucket: reader.bucket }, prefix, [
        `${prefix}a0001`,
        `${prefix}a0500x`,
        `${prefix}b`,
        `${prefix}c`,
      ]);
      expect([...gone]).toEqual([`${prefix}a0500x`, `${prefix}c`]);
    } finally {
      reader.destroy();
    }
  }, 120_000);
});

describe('a CreateMultipartUpload retried after its answer was lost', () => {
  test("the writer's lost twin upload is aborted; the app's upload of the same key is left alone", async () => {
    const key = `${uniqueKey('mig-twins')}/big.jpg`;
    const writer = createSideClient(testWorkspace(), 'primary');
    const app = s3As('primaryApp');
    const bucket = rigState().buckets.primary;
    try {
      const from = new Date(Date.now() - 1000);
      const lost = (await writer.s3.send(new CreateMultipartUploadCommand({ Bucket: writer.bucket, Key: key })))
        .UploadId!;
      const ours = (await writer.s3.send(new CreateMultipartUploadCommand({ Bucket: writer.bucket, Key: key })))
        .UploadId!;
      const to = new Date(Date.now() + 1000);
      await new Promise((r) => setTimeout(r, 2500));
      const apps = (await app.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId!;
      expect(await abortLostTwins(writer.s3, writer.bucket, key, ours, { from, to }, 0)).toBe(1);
      const left = (await app.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads?.map(
        (u) => u.UploadId,
      ).sort();
      expect(left).toEqual([ours, apps].sort());
      expect(left).not.toContain(lost);
      await writer.s3.send(new AbortMultipartUploadCommand({ Bucket: writer.bucket, Key: key, UploadId: ours }));
      await app.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: apps }));
    } finally {
      writer.destroy();
    }
  });
});

describe('--dry-run', () => {
  test('lists and reports, and writes nothing: no copies, no checkpoint', async () => {
    const prefix = `${uniqueKey('mig-dry')}/`;
    for (const k of ['x.jpg', 'y.jpg']) await putLegacy(`${prefix}${k}`, fernetCodec().encrypt(Buffer.from(k)));
    await putNewAsApp(`${prefix}y.jpg`, Buffer.from('app'));
    const cwd = tmp();
    const wsDir = tmp();
    writeWorkspace(wsDir);
    const res = await migrateCli(['--env', 'local', '--dry-run', '--prefix', prefix], { cwd, workspacesDir: wsDir })
      .done;
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('2 legacy objects');
    expect(res.stdout).toContain('1 to copy');
    expect(res.stdout).toContain('1 kept as the app wrote them');
    expect(fs.readdirSync(cwd)).toEqual([]);
    expect(await listKeys('primary', prefix)).toEqual([`${prefix}y.jpg`]);
    expect((await headNew(`${prefix}y.jpg`)).Metadata?.[PROVENANCE.sourceEtag]).toBeUndefined();
  }, 60_000);
});
