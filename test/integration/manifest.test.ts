/**
 * Manifests on the real RGW: the migrator copies exactly the keys of an S3 Inventory report (manifest.json + CSV.gz
 * files) or of a Batch Operations CSV, read from a bucket of the legacy account, and nothing else; `npm run manifest`
 * writes a CSV that `migrate --manifest` then consumes.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { planObjects } from '../../migrator/src/seed/plan';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { manifestLine } from '../../migrator/src/sources/write-manifest';
import { runCliScript } from '../helpers/cli';
import { tmpDirPerFile } from '../helpers/tmp';
import { listBucketKeys } from './helpers/migration';
import { dropMigration, freshMigration, seed, type TestMigration } from './helpers/own-buckets';
import { migrateWorkspace } from '../../migrator/src/migrate/migrate-workspace';

const tmpDir = tmpDirPerFile('bm-manifest-it-');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const q = (f: string) => `"${f.replace(/"/g, '""')}"`;
/** As S3 Inventory writes a key: URL-encoded, a space as +. */
const awsKey = (k: string) => encodeURIComponent(k).replace(/%20/g, '+');

describe('migrate --manifest on the rig', () => {
  let m: TestMigration;
  let dir: string;
  let manifests: string; // a bucket of the legacy account for the manifests
  let all: string[];
  const extraKeys = ['manifest/a b+c%.jpg', 'manifest/ünï,"q".jpg', 'manifest/new\nline.jpg'];

  beforeAll(async () => {
    dir = tmpDir();
    m = await freshMigration('manifest', dir);
    manifests = `${m.ws.legacy.bucket.replace(/-old$/, '')}-man`;
    await m.legacy.s3.send(new CreateBucketCommand({ Bucket: manifests }));
    await seed(
      m,
      planObjects({ count: 14, size: parseSizeSpec('1KiB-16KiB'), oddKeys: false, seed: 'manifest', prefix: 'chats/' }),
      'manifest',
    );
    for (const key of extraKeys) {
      await m.legacy.s3.send(
        new PutObjectCommand({
          Bucket: m.legacy.bucket,
          Key: key,
          Body: m.codec.encrypt(Buffer.from(`photo ${key}`), { key }),
        }),
      );
    }
    all = await listBucketKeys(m.legacy.s3, m.legacy.bucket);
    expect(all).toHaveLength(14 + extraKeys.length);
  }, 120_000);

  afterAll(async () => {
    const out = await m.legacy.s3.send(new ListObjectsV2Command({ Bucket: manifests }));
    if (out.Contents?.length)
      await m.legacy.s3.send(
        new DeleteObjectsCommand({
          Bucket: manifests,
          Delete: { Objects: out.Contents.map((o) => ({ Key: o.Key! })) },
        }),
      );
    await m.legacy.s3.send(new DeleteBucketCommand({ Bucket: manifests }));
    await dropMigration(m);
  });

  async function newKeys(): Promise<string[]> {
    return (await listBucketKeys(m.primary.s3, m.primary.bucket)).sort();
  }

  const run = (manifest: string, checkpoint: string) =>
    migrateWorkspace(m.ws, {
      manifest,
      checkpoint: path.join(dir, checkpoint),
      report: path.join(dir, `${checkpoint}.report`),
      concurrency: 4,
      maxAttempts: 3,
      codec: m.codec,
      clients: { env: m.env },
    });

  test('an S3 Inventory report: exactly its latest, not-deleted keys are copied', async () => {
    const sorted = [...all].sort();
    const inManifest = [sorted[0], sorted[3], sorted[5], ...extraKeys];
    const onlyOld = sorted[1]; // listed only as a non-latest version: not copied
    const deleted = sorted[2]; // its latest is a delete marker: not copied
    const row = (key: string, o: { latest?: boolean; marker?: boolean } = {}) =>
      [
        m.ws.legacy.bucket,
        awsKey(key),
        o.marker || o.latest === false ? 'v-old' : 'null',
        String(o.latest ?? true),
        String(o.marker ?? false),
        o.marker ? '' : '123',
        '2026-11-25T00:00:00.000Z',
        o.marker ? '' : 'ffff',
        'STANDARD',
      ]
        .map(q)
        .join(',');
    const files = [
      gzipSync(
        `${[row(inManifest[0]), row(onlyOld, { latest: false }), row(inManifest[1]), row(deleted, { marker: true })].join('\n')}\n`,
      ),
      gzipSync(
        `${inManifest
          .slice(2)
          .map((k) => row(k))
          .join('\n')}\n`,
      ),
    ];
    const base = `inventory/${m.ws.legacy.bucket}/daily/2026-11-25T01-00Z`;
    for (let i = 0; i < files.length; i++) {
      await m.legacy.s3.send(
        new PutObjectCommand({ Bucket: manifests, Key: `inventory/data/part-${i}.csv.gz`, Body: files[i] }),
      );
    }
    const manifest = {
      sourceBucket: m.ws.legacy.bucket,
      destinationBucket: `arn:aws:s3:::${manifests}`,
      version: '2016-11-30',
      creationTimestamp: '1764032400000',
      fileFormat: 'CSV',
      fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass',
      files: files.map((b, i) => ({ key: `inventory/data/part-${i}.csv.gz`, size: b.length, MD5checksum: md5(b) })),
    };
    await m.legacy.s3.send(
      new PutObjectCommand({ Bucket: manifests, Key: `${base}/manifest.json`, Body: JSON.stringify(manifest) }),
    );

    const { summary } = await run(`s3://${manifests}/${base}/manifest.json`, 'inventory.sqlite');
    expect(summary).toMatchObject({ complete: true, exitCode: 0 });
    expect(summary.source).toMatch(new RegExp(`^manifest s3://${manifests}/${base}/manifest\\.json#[0-9a-f]{32}$`));
    expect(summary.run.totals.copied.count).toBe(inManifest.length);
    expect(await newKeys()).toEqual([...inManifest].sort());
    expect(await newKeys()).not.toContain(onlyOld);
    expect(await newKeys()).not.toContain(deleted);
    // The report's sizes came from the inventory; the checkpoint now holds the sizes read.
    expect(summary.run.totals.copied.bytes).toBeGreaterThan(0);
  }, 120_000);

  test('a Batch Operations CSV: its keys are copied (sizes unknown until read), others are not; a changed manifest is refused for the old checkpoint', async () => {
    const sorted = [...all].sort();
    const before = await newKeys();
    const inCsv = [sorted[6], sorted[7], sorted[8]];
    const csv = `${inCsv.map((k) => manifestLine(m.ws.legacy.bucket, k)).join('\n')}\n`;
    await m.legacy.s3.send(new PutObjectCommand({ Bucket: manifests, Key: 'batch/part.csv', Body: csv }));
    const { summary } = await run(`s3://${manifests}/batch/part.csv`, 'batch.sqlite');
    expect(summary).toMatchObject({ complete: true, exitCode: 0 });
    expect(summary.run.totals.copied.count).toBe(3);
    expect(summary.run.totals.copied.bytes).toBeGreaterThan(3 * 1024); // real sizes, not -1
    expect(await newKeys()).toEqual([...before, ...inCsv].sort());

    await m.legacy.s3.send(
      new PutObjectCommand({
        Bucket: manifests,
        Key: 'batch/part.csv',
        Body: `${csv}${manifestLine(m.ws.legacy.bucket, sorted[9])}\n`,
      }),
    );
    await expect(run(`s3://${manifests}/batch/part.csv`, 'batch.sqlite')).rejects.toThrow(
      /belongs to another migration .*manifest s3:\/\/.*batch\/part\.csv#/,
    );
  }, 120_000);

  test('npm run manifest writes a CSV to S3 that migrate --manifest consumes: every legacy key ends up copied', async () => {
    const cwd = tmpDir();
    const wsDir = path.join(cwd, 'workspaces');
    fs.mkdirSync(wsDir);
    const { file: _file, ...json } = m.ws;
    fs.writeFileSync(path.join(wsDir, 'local.json'), JSON.stringify(json, null, 2));
    const env = { ...m.env, BUCKETMOVE_WORKSPACES_DIR: wsDir, LEGACY_FERNET_KEYS: m.keys[0] };

    const written = await runCliScript('manifest', ['--env', 'local', '--out', `s3://${manifests}/made/all.csv`], {
      cwd,
      env,
    });
    expect(written.stderr).toBe('');
    expect(written.code).toBe(0);
    const head = await m.legacy.s3.send(new HeadObjectCommand({ Bucket: manifests, Key: 'made/all.csv' }));
    expect(written.stdout).toBe(
      `manifest of local (${m.ws.legacy.bucket}): ${all.length} keys written to s3://${manifests}/made/all.csv\netag: ${head.ETag!.replace(/"/g, '')}\n`,
    );

    // And to a file, the same lines.
    const file = path.join(cwd, 'all.csv');
    const local = await runCliScript('manifest', ['--env', 'local', '--out', file], { cwd, env });
    expect(local.code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(
      `${[...all]
        .sort()
        .map((k) => manifestLine(m.ws.legacy.bucket, k))
        .join('\n')}\n`,
    );

    const migrated = await runCliScript(
      'migrate',
      ['--env', 'local', '--manifest', `s3://${manifests}/made/all.csv`, '--concurrency', '4'],
      { cwd, env },
    );
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(new RegExp(`^migration of local complete: ${all.length} legacy objects`));
    expect(await newKeys()).toEqual([...all].sort());

    const refused = await runCliScript(
      'migrate',
      ['--env', 'local', '--manifest', `s3://${manifests}/made/all.csv`, '--dry-run'],
      { cwd, env },
    );
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 2,
      stderr: 'migrate: --dry-run lists the legacy bucket; give it without --manifest\n',
    });
  }, 180_000);
});
