import * as fs from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { ConfigError } from '../../workspaces/errors';
import { PermanentCopyError } from '../../migrator/src/migrate/classify';
import type { ListedObject } from '../../migrator/src/objects/records';
import { batchCsvManifest } from '../../migrator/src/sources/batch-csv-manifest';
import { inventoryManifest, readInventoryManifest } from '../../migrator/src/sources/inventory-manifest';
import { UNKNOWN_SIZE, type KeyPage, type KeySource } from '../../migrator/src/sources/key-source';
import { decodeManifestKey, encodeManifestKey } from '../../migrator/src/sources/manifest-key';
import { parseS3Url } from '../../migrator/src/sources/manifest-object';
import { manifestKind, openManifest } from '../../migrator/src/sources/open-manifest';
import { fileSink, manifestLine, writeManifest } from '../../migrator/src/sources/write-manifest';
import { md5, MemoryObjects } from '../helpers/manifest-objects';
import { tmpDirPerFile } from '../helpers/tmp';

const tmpDir = tmpDirPerFile('bm-manifest-');
const LEGACY = 'legacy-photos';

/** Keys that break naive CSV or URL handling. */
const AWKWARD = [
  'photos/a b.jpg',
  'photos/a+b.jpg',
  'photos/a + b  c.jpg',
  'photos/100%.jpg',
  'photos/%2B literally.jpg',
  'photos/ünïcödé/猫.jpg',
  'photos/📷.jpg',
  'photos/with,comma.jpg',
  'photos/"quoted".jpg',
  'photos/new\nline.jpg',
  'photos/crlf\r\nend.jpg',
  ' leading and trailing ',
  "photos/it's (1) ~!*.jpg",
  'photos/semi;colon&amp=eq?q#hash.jpg',
  'folder/',
];

async function all(source: KeySource, cursor?: string): Promise<KeyPage[]> {
  const pages: KeyPage[] = [];
  for await (const p of source.pages({ cursor })) pages.push(p);
  return pages;
}
const keysOf = (pages: KeyPage[]): string[] => pages.flatMap((p) => p.objects.map((o) => o.key));

async function refusal(p: Promise<unknown>): Promise<PermanentCopyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PermanentCopyError);
  return err as PermanentCopyError;
}

describe('manifest keys', () => {
  test('AWS form encoding: + is a space, %2B a plus', () => {
    expect(decodeManifestKey('photos/a+b%2Bc%20d')).toBe('photos/a b+c d');
  });
  test('what this tool writes decodes to the same key, and never holds a bare + or space', () => {
    for (const k of AWKWARD) {
      const enc = encodeManifestKey(k);
      expect(enc).not.toMatch(/[+ ,"\r\n]/);
      expect(decodeManifestKey(enc)).toBe(k);
    }
  });
});

describe('Batch Operations CSV manifest', () => {
  const url = 's3://manifests/batch/legacy.csv';
  const setup = (csv: string) => {
    const objects = new MemoryObjects();
    objects.put(url, csv);
    return {
      objects,
      source: batchCsvManifest(objects, parseS3Url(url), md5(Buffer.from(csv)), { legacyBucket: LEGACY, pageSize: 4 }),
    };
  };

  test('reads Bucket,Key[,VersionId] rows, sizes unknown, keys decoded; the last page says so', async () => {
    const csv =
      AWKWARD.map((k, i) => `${manifestLine(LEGACY, k)}${i % 3 === 0 ? ',3HL4kqtJlcpXroDTDmJ' : ''}`).join('\n') + '\n';
    const { source } = setup(csv);
    const pages = await all(source);
    expect(keysOf(pages)).toEqual(AWKWARD);
    expect(pages.flatMap((p) => p.objects).every((o) => o.size === UNKNOWN_SIZE && o.etag === '')).toBe(true);
    expect(pages.map((p) => p.isLast)).toEqual([...pages.slice(1).map(() => false), true]);
    expect(source.describe).toBe(`manifest ${url}#${md5(Buffer.from(csv))}`);
  });

  test('quoted fields and AWS-encoded keys (spaces as +) are read as AWS writes them', async () => {
    const { source } = setup(`"${LEGACY}","photos/my+photo%2B1.jpg"\r\n${LEGACY},plain.jpg\r\n`);
    expect(keysOf(await all(source))).toEqual(['photos/my photo+1.jpg', 'plain.jpg']);
  });

  test('resumes after a cursor without the rows before it', async () => {
    const csv = AWKWARD.map((k) => manifestLine(LEGACY, k)).join('\n');
    const { source } = setup(csv);
    const pages = await all(source);
    const second = pages[1];
    const rest = await all(source, second.cursor);
    expect([...keysOf(pages.slice(0, 2)), ...keysOf(rest)]).toEqual(AWKWARD);
    expect(rest[rest.length - 1].isLast).toBe(true);
  });

  test('a row of another bucket is refused', async () => {
    const { source } = setup(`${LEGACY},a.jpg\nsomeone-else,b.jpg\n`);
    const err = await refusal(all(source));
    expect(err.message).toMatch(/row 2 names bucket "someone-else", not the workspace's legacy bucket "legacy-photos"/);
  });

  test('malformed rows are refused with their row number', async () => {
    await expect(all(setup(`${LEGACY}\n`).source)).rejects.toThrow(
      /row 1: 1 fields, expected Bucket,Key\[,VersionId\]/,
    );
    await expect(all(setup(`${LEGACY},bad%E0%A4%A.jpg\n`).source)).rejects.toThrow(
      /row 1: the key is not well-formed URL encoding/,
    );
  });

  test('a manifest changed since it was pinned is refused', async () => {
    const { objects, source } = setup(`${LEGACY},a.jpg\n`);
    objects.put(url, `${LEGACY},a.jpg\n${LEGACY},b.jpg\n`);
    const err = await refusal(all(source));
    expect(err.code).toBe('ManifestChanged');
  });

  test('--prefix filters the keys', async () => {
    const csv = ['a/1', 'b/1', 'a/2'].map((k) => manifestLine(LEGACY, k)).join('\n');
    const objects = new MemoryObjects();
    objects.put(url, csv);
    const source = batchCsvManifest(objects, parseS3Url(url), md5(Buffer.from(csv)), {
      legacyBucket: LEGACY,
      prefix: 'a/',
    });
    expect(keysOf(await all(source))).toEqual(['a/1', 'a/2']);
  });
});

// ---- S3 Inventory -------------------------------------------------------------------------------------------------

const SCHEMA = 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass';
const q = (f: string) => `"${f.replace(/"/g, '""')}"`;
/** As S3 Inventory writes a key: URL-encoded, a space as +. */
const awsKey = (k: string) => encodeURIComponent(k).replace(/%20/g, '+');

interface Row {
  key: string;
  version?: string;
  latest?: boolean;
  deleteMarker?: boolean;
  size?: number;
  etag?: string;
  bucket?: string;
}
function inventoryCsv(rows: Row[]): Buffer {
  const lines = rows.map((r) =>
    [
      r.bucket ?? LEGACY,
      awsKey(r.key),
      r.version ?? '',
      String(r.latest ?? true),
      String(r.deleteMarker ?? false),
      r.deleteMarker ? '' : String(r.size ?? 10),
      '2026-11-01T00:00:00.000Z',
      r.deleteMarker ? '' : (r.etag ?? 'd41d8cd98f00b204e9800998ecf8427e'),
      'STANDARD',
    ]
      .map(q)
      .join(','),
  );
  return gzipSync(`${lines.join('\n')}\n`);
}

const MANIFEST_URL = 's3://inventory/dest/legacy-photos/daily/2026-11-25T01-00Z/manifest.json';
function inventory(files: Buffer[], patch: (m: Record<string, unknown>) => void = () => {}) {
  const objects = new MemoryObjects();
  const manifest: Record<string, unknown> = {
    sourceBucket: LEGACY,
    destinationBucket: 'arn:aws:s3:::inventory',
    version: '2016-11-30',
    creationTimestamp: '1764032400000',
    fileFormat: 'CSV',
    fileSchema: SCHEMA,
    files: files.map((b, i) => ({
      key: `dest/legacy-photos/daily/data/file-${i}.csv.gz`,
      size: b.length,
      MD5checksum: md5(b),
    })),
  };
  patch(manifest);
  files.forEach((b, i) => objects.put(`s3://inventory/dest/legacy-photos/daily/data/file-${i}.csv.gz`, b));
  objects.put(MANIFEST_URL, JSON.stringify(manifest));
  return objects;
}
const open = (objects: MemoryObjects, pageSize = 3) =>
  openManifest(objects, MANIFEST_URL, { legacyBucket: LEGACY, pageSize });

describe('S3 Inventory manifest', () => {
  const fileA: Row[] = [
    { key: 'photos/a b.jpg', size: 100, etag: 'aaa' },
    { key: 'photos/gone.jpg', deleteMarker: true, latest: true, version: 'v3' },
    { key: 'photos/gone.jpg', latest: false, version: 'v2', size: 5 },
    { key: 'photos/a+b,"c"\n.jpg', size: 200, etag: 'bbb-2' },
    { key: 'photos/猫.jpg', size: 0 },
  ];
  const fileB: Row[] = [
    { key: 'photos/100%.jpg', size: 7 },
    { key: 'photos/old.jpg', latest: false, version: 'v1' },
    { key: 'photos/old.jpg', latest: true, version: 'v2', size: 9, etag: 'ccc' },
    { key: 'photos/last.jpg', size: 1 },
  ];
  const wanted = [
    'photos/a b.jpg',
    'photos/a+b,"c"\n.jpg',
    'photos/猫.jpg',
    'photos/100%.jpg',
    'photos/old.jpg',
    'photos/last.jpg',
  ];

  test('reads the gzip CSV files of manifest.json: keys decoded, sizes and ETags kept, delete markers and old versions skipped', async () => {
    const objects = inventory([inventoryCsv(fileA), inventoryCsv(fileB)]);
    expect(manifestKind(parseS3Url(MANIFEST_URL).key)).toBe('inventory');
    const source = await open(objects);
    const pages = await all(source);
    expect(keysOf(pages)).toEqual(wanted);
    const objs = pages.flatMap((p) => p.objects);
    expect(objs[0]).toEqual<ListedObject>({
      key: 'photos/a b.jpg',
      size: 100,
      etag: 'aaa',
      lastModified: '2026-11-01T00:00:00.000Z',
    });
    expect(objs.find((o) => o.key === 'photos/old.jpg')).toMatchObject({ size: 9, etag: 'ccc' });
    expect(pages[pages.length - 1].isLast).toBe(true);
    expect(pages.slice(0, -1).every((p) => !p.isLast)).toBe(true);
    expect(source.describe).toMatch(/^manifest s3:\/\/inventory\/.*manifest\.json#[0-9a-f]{32}$/);
  });

  test('resumes from a cursor mid-file and at a file boundary, with no key twice', async () => {
    const objects = inventory([inventoryCsv(fileA), inventoryCsv(fileB)]);
    const source = await open(objects, 2);
    const pages = await all(source);
    for (let i = 0; i < pages.length - 1; i++) {
      const rest = await all(source, pages[i].cursor);
      expect([...keysOf(pages.slice(0, i + 1)), ...keysOf(rest)]).toEqual(wanted);
    }
  });

  test('a data file whose MD5 is not its MD5checksum is refused before any of its rows is used', async () => {
    const good = inventoryCsv(fileA);
    const objects = inventory([good, inventoryCsv(fileB)]);
    objects.put(
      's3://inventory/dest/legacy-photos/daily/data/file-1.csv.gz',
      inventoryCsv([...fileB, { key: 'smuggled.jpg' }]),
    );
    const seen: string[] = [];
    const source = await open(objects, 100);
    const err = await refusal(
      (async () => {
        for await (const p of source.pages({})) seen.push(...p.objects.map((o) => o.key));
      })(),
    );
    expect(err.message).toMatch(/file-1\.csv\.gz: MD5 [0-9a-f]{32} is not the manifest's MD5checksum/);
    expect(seen).toEqual(wanted.slice(0, 3)); // file 0 only
  });

  test('refused before reading: another source bucket, a format other than CSV, not a manifest', async () => {
    await expect(open(inventory([], (m) => (m.sourceBucket = 'other-bucket')))).rejects.toThrow(
      new ConfigError(
        `${MANIFEST_URL} is an inventory of bucket "other-bucket", not of the workspace's legacy bucket "legacy-photos"; give that bucket's report`,
      ),
    );
    for (const fmt of ['ORC', 'Parquet']) {
      const err = await open(inventory([], (m) => (m.fileFormat = fmt))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(
        `${MANIFEST_URL}: fileFormat ${fmt} is not supported (only CSV); configure the inventory report with CSV output`,
      );
    }
    await expect(open(inventory([], (m) => delete m.files))).rejects.toThrow(
      /is not an S3 Inventory manifest.json \(files:/,
    );
    await expect(open(inventory([], (m) => (m.fileSchema = 'Key, Size')))).rejects.toThrow(
      /has no Bucket and Key columns/,
    );
  });

  test('a row of another bucket is refused', async () => {
    const source = await open(inventory([inventoryCsv([{ key: 'a' }, { key: 'b', bucket: 'other' }])]));
    await expect(all(source)).rejects.toThrow(
      /row 2 names bucket "other", not the report's source bucket "legacy-photos"/,
    );
  });

  test('a report without version columns (current versions only) and without sizes', async () => {
    const csv = gzipSync(`${q(LEGACY)},${q('x+y.jpg')}\n${q(LEGACY)},${q('z.jpg')}\n`);
    const objects = inventory([csv], (m) => (m.fileSchema = 'Bucket, Key'));
    const objs = (await all(await open(objects))).flatMap((p) => p.objects);
    expect(objs).toEqual([
      { key: 'x y.jpg', size: UNKNOWN_SIZE, etag: '' },
      { key: 'z.jpg', size: UNKNOWN_SIZE, etag: '' },
    ]);
  });

  test('the manifest.json is pinned: a changed one is refused', async () => {
    const objects = inventory([inventoryCsv(fileA)]);
    const at = parseS3Url(MANIFEST_URL);
    const etag = await objects.etag(at);
    objects.put(MANIFEST_URL, '{}');
    await expect(readInventoryManifest(objects, at, etag, LEGACY)).rejects.toThrow(/changed since it was first read/);
    void inventoryManifest; // the source itself is built only from a checked manifest
  });
});

describe('writing a Batch Operations CSV manifest', () => {
  test('write then read gives back the identical keys', async () => {
    const listing: KeySource = {
      describe: 'listing',
      async *pages() {
        yield { objects: AWKWARD.slice(0, 5).map((key) => ({ key, size: 1, etag: 'e' })), cursor: 'x', isLast: false };
        yield { objects: [], cursor: 'x', isLast: false };
        yield { objects: AWKWARD.slice(5).map((key) => ({ key, size: 1, etag: 'e' })), cursor: 'y', isLast: true };
      },
    };
    const file = path.join(tmpDir(), 'm.csv');
    const res = await writeManifest(listing, LEGACY, fileSink(file));
    expect(res.objects).toBe(AWKWARD.length);
    const text = fs.readFileSync(file);
    expect(text.toString().split('\n')).toHaveLength(AWKWARD.length + 1); // one line per key, no header, final newline
    const objects = new MemoryObjects();
    objects.put('s3://m/m.csv', text);
    const back = await openManifest(objects, 's3://m/m.csv', { legacyBucket: LEGACY });
    expect(keysOf(await all(back))).toEqual(AWKWARD);
  });

  test('a failing source leaves no file behind', async () => {
    const failing: KeySource = {
      describe: 'listing',
      async *pages() {
        yield { objects: [{ key: 'a', size: 1, etag: 'e' }], cursor: 'a', isLast: false };
        throw new Error('listing broke');
      },
    };
    const dir = tmpDir();
    await expect(writeManifest(failing, LEGACY, fileSink(path.join(dir, 'm.csv')))).rejects.toThrow('listing broke');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
