/**
 * Memory of a key source of 1,000,000 keys, streamed into a checkpoint on disk as a migration run's lister does it
 * (one addListedPage transaction per page of 1,000): a generated S3 Inventory report (manifest.json + 4 gzip CSV files,
 * every field quoted, keys URL-encoded, a delete marker and a non-latest version among the rows) through the inventory
 * reader (MD5 of each file checked first), a generated Batch Operations CSV through its reader, and a synthetic listing
 * (pages of 1,000 made in memory, as ListObjectsV2 would hand them over). Every 50 pages: a full GC, then V8's heapUsed
 * (the live heap) and the RSS. The manifest files are served from local files (no S3), so the figure is the reader's
 * and the checkpoint's, not the network's.
 * Run: npm run bench:manifest (keys: BENCH_MANIFEST_KEYS, default 1000000)
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { Readable } from 'stream';
import * as v8 from 'v8';
import * as vm from 'vm';
import { createGzip } from 'zlib';
import { Checkpoint } from '../src/migrate/checkpoint';
import type { KeyPage, KeySource } from '../src/sources/key-source';
import { encodeManifestKey } from '../src/sources/manifest-key';
import { formatS3Url, manifestChanged, type ManifestObjects, type S3Location } from '../src/sources/manifest-object';
import { openManifest } from '../src/sources/open-manifest';
import { benchTempDir, gitRevision, machineLine, runBench, writeSection } from './benchmarks-md';
import { MIB } from '../../workspaces/units';

const KEYS = Number(process.env.BENCH_MANIFEST_KEYS ?? 1_000_000);
const PAGE = 1000;
const SAMPLE_EVERY = 50;
const FILES = 4;
const BUCKET = 'legacy-photos';

v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;

/** The i-th synthetic key: chat folders, a UUID-like name, every 97th with a space and a plus, every 89th unicode. */
function keyOf(i: number): string {
  const hex = createHash('sha1').update(String(i)).digest('hex');
  const name =
    i % 97 === 0
      ? `IMG ${i}+copy.jpg`
      : i % 89 === 0
        ? `写真-${i}.jpg`
        : `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}.jpg`;
  return `chats/${10_000 + (i % 5000)}/photos/${name}`;
}

const q = (f: string) => `"${f}"`;

/** Lines from a generator, in chunks of ~1,000 lines (so writing streams instead of building the file in memory). */
function linesStream(from: number, to: number, line: (i: number) => string): Readable {
  let i = from;
  return new Readable({
    read() {
      if (i >= to) {
        this.push(null);
        return;
      }
      const end = Math.min(to, i + 1000);
      const out: string[] = [];
      for (; i < end; i++) out.push(line(i));
      this.push(`${out.join('\n')}\n`);
    },
  });
}

async function md5File(file: string): Promise<string> {
  const h = createHash('md5');
  for await (const c of fs.createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Manifest objects served from files in `dir` (s3://bench/<name> is dir/<name>); the ETag is the file's MD5. */
function fileObjects(dir: string): ManifestObjects {
  const etags = new Map<string, string>();
  const etag = async (at: S3Location) => {
    const file = path.join(dir, at.key);
    if (!etags.has(file)) etags.set(file, await md5File(file));
    return etags.get(file)!;
  };
  return {
    etag,
    async open(at, opts = {}) {
      const e = await etag(at);
      if (opts.ifMatch && opts.ifMatch !== e) throw manifestChanged(at, opts.ifMatch);
      return { body: fs.createReadStream(path.join(dir, at.key), { highWaterMark: 64 * 1024 }), etag: e };
    },
  };
}

async function makeInventory(dir: string): Promise<void> {
  const per = Math.ceil(KEYS / FILES);
  const files: { key: string; size: number; MD5checksum: string }[] = [];
  for (let f = 0; f < FILES; f++) {
    const key = `data/part-${f}.csv.gz`;
    const file = path.join(dir, key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await pipeline(
      linesStream(f * per, Math.min(KEYS, (f + 1) * per), (i) => {
        const row = [
          BUCKET,
          encodeURIComponent(keyOf(i)).replace(/%20/g, '+'),
          'null',
          'true',
          'false',
          String(1000 + (i % 5_000_000)),
          '2026-11-25T00:00:00.000Z',
          createHash('md5').update(String(i)).digest('hex'),
          'STANDARD',
        ];
        // One delete marker and one old version per 10,000 rows (skipped by the reader, as a real report has them).
        const extra =
          i % 10_000 === 0
            ? `\n${[BUCKET, `gone-${i}.jpg`, 'v2', 'true', 'true', '', '', '', ''].map(q).join(',')}\n${[BUCKET, `gone-${i}.jpg`, 'v1', 'false', 'false', '5', '2026-11-24T00:00:00.000Z', 'abc', 'STANDARD'].map(q).join(',')}`
            : '';
        return row.map(q).join(',') + extra;
      }),
      createGzip(),
      fs.createWriteStream(file),
    );
    files.push({ key, size: fs.statSync(file).size, MD5checksum: await md5File(file) });
  }
  const manifest = {
    sourceBucket: BUCKET,
    destinationBucket: 'arn:aws:s3:::bench',
    version: '2016-11-30',
    creationTimestamp: String(Date.now()),
    fileFormat: 'CSV',
    fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass',
    files,
  };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
}

async function makeBatchCsv(dir: string): Promise<void> {
  await pipeline(
    linesStream(0, KEYS, (i) => `${BUCKET},${encodeManifestKey(keyOf(i))}`),
    fs.createWriteStream(path.join(dir, 'batch.csv')),
  );
}

function syntheticListing(): KeySource {
  return {
    describe: 'listing',
    async *pages(): AsyncGenerator<KeyPage> {
      for (let i = 0; i < KEYS; i += PAGE) {
        const objects = [];
        for (let j = i; j < Math.min(KEYS, i + PAGE); j++)
          objects.push({
            key: keyOf(j),
            size: 1000 + j,
            etag: createHash('md5').update(String(j)).digest('hex'),
            lastModified: '2026-11-25T00:00:00.000Z',
          });
        yield { objects, cursor: objects[objects.length - 1].key, isLast: i + PAGE >= KEYS };
      }
    },
  };
}

interface Sample {
  keys: number;
  heapMiB: number;
  rssMiB: number;
}

interface Measured {
  source: string;
  keys: number;
  seconds: number;
  start: Sample;
  peak: { heapMiB: number; rssMiB: number };
  end: Sample;
  /** The live heap at 10% of the keys (after the first pages warmed the code up and filled SQLite's cache). */
  warm: Sample;
  flat: boolean;
}

function sample(keys: number): Sample {
  gc();
  const m = process.memoryUsage();
  return { keys, heapMiB: m.heapUsed / MIB, rssMiB: m.rss / MIB };
}

async function measure(name: string, source: KeySource, checkpointFile: string): Promise<Measured> {
  const cp = Checkpoint.open(checkpointFile, {
    env: 'bench',
    legacyBucket: BUCKET,
    newBucket: 'new',
    prefix: '',
    ...(source.describe === 'listing' ? {} : { source: source.describe }),
  });
  const start = sample(0);
  const samples: Sample[] = [start];
  let keys = 0;
  let pages = 0;
  const t0 = process.hrtime.bigint();
  try {
    for await (const page of source.pages({})) {
      cp.addListedPage(page.objects, page.isLast, page.cursor);
      keys += page.objects.length;
      if (++pages % SAMPLE_EVERY === 0) samples.push(sample(keys));
    }
  } finally {
    cp.close();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const end = sample(keys);
  samples.push(end);
  if (keys !== KEYS) throw new Error(`${name}: ${keys} keys read, expected ${KEYS}`);
  const warm = samples.find((s) => s.keys >= KEYS / 10) ?? start;
  const peak = {
    heapMiB: Math.max(...samples.map((s) => s.heapMiB)),
    rssMiB: Math.max(...samples.map((s) => s.rssMiB)),
  };
  // Flat: after warm-up, the live heap grows by less than 8 MiB over the remaining 90% of the keys (a source that held
  // its keys would grow by about 100 bytes per key: ~90 MiB here), and RSS by less than 64 MiB.
  const flat = end.heapMiB - warm.heapMiB < 8 && peak.rssMiB - warm.rssMiB < 64;
  const m = { source: name, keys, seconds, start, peak, end, warm, flat };
  console.log(
    `${name}: ${keys} keys in ${seconds.toFixed(1)} s (${Math.round(keys / seconds)} keys/s); heap ${start.heapMiB.toFixed(1)} -> peak ${peak.heapMiB.toFixed(1)} -> end ${end.heapMiB.toFixed(1)} MiB; RSS ${start.rssMiB.toFixed(0)} -> peak ${peak.rssMiB.toFixed(0)} -> end ${end.rssMiB.toFixed(0)} MiB; ${flat ? 'flat' : 'NOT flat'}`,
  );
  return m;
}

async function main(): Promise<void> {
  const dir = benchTempDir('bm-bench-manifest-'); // about 160 MiB of generated manifests: removed on Ctrl-C too
  const results: Measured[] = [];
  try {
    console.log(
      `generating ${KEYS} keys: an inventory report (${FILES} gzip CSV files) and a Batch Operations CSV in ${dir}`,
    );
    await makeInventory(dir);
    await makeBatchCsv(dir);
    const objects = fileObjects(dir);
    const inventory = await openManifest(objects, formatS3Url({ bucket: 'bench', key: 'manifest.json' }), {
      legacyBucket: BUCKET,
      pageSize: PAGE,
    });
    results.push(await measure('S3 Inventory report (gzip CSV)', inventory, path.join(dir, 'inventory.sqlite')));
    const batch = await openManifest(objects, formatS3Url({ bucket: 'bench', key: 'batch.csv' }), {
      legacyBucket: BUCKET,
      pageSize: PAGE,
    });
    results.push(await measure('Batch Operations CSV', batch, path.join(dir, 'batch.sqlite')));
    results.push(await measure('synthetic listing', syntheticListing(), path.join(dir, 'listing.sqlite')));
    const gz = fs
      .readdirSync(path.join(dir, 'data'))
      .reduce((n, f) => n + fs.statSync(path.join(dir, 'data', f)).size, 0);
    const csv = fs.statSync(path.join(dir, 'batch.csv')).size;
    writeSection(
      'manifest',
      [
        '## Manifests: memory of 1,000,000 keys',
        '',
        `Command: \`npm run bench:manifest\` (BENCH_MANIFEST_KEYS=${KEYS}). Each source's keys go into a checkpoint on disk`,
        `page by page (${PAGE} keys, one transaction each), as the migrator's lister records them; every ${SAMPLE_EVERY} pages a full GC, then`,
        'the live heap (V8 heapUsed) and the RSS. Sources: a generated S3 Inventory report (4 gzip CSV files, ' +
          `${(gz / MIB).toFixed(0)} MiB, MD5 checked,`,
        'rows quoted, keys URL-encoded, delete markers and old versions skipped) through the inventory reader; a generated',
        `Batch Operations CSV (${(csv / MIB).toFixed(0)} MiB) through its reader; a synthetic listing (pages made in memory). Files served from local disk, no S3.`,
        'Machine: ' + machineLine() + '.',
        `Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
        '',
        '| source | keys | keys/s | heap start / peak / end | heap at 10% -> end | RSS start / peak / end | flat |',
        '|---|---:|---:|---:|---:|---:|---|',
        ...results.map(
          (r) =>
            `| ${r.source} | ${r.keys} | ${Math.round(r.keys / r.seconds)} | ${r.start.heapMiB.toFixed(1)} / ${r.peak.heapMiB.toFixed(1)} / ${r.end.heapMiB.toFixed(1)} MiB | ${r.warm.heapMiB.toFixed(1)} -> ${r.end.heapMiB.toFixed(1)} MiB | ${r.start.rssMiB.toFixed(0)} / ${r.peak.rssMiB.toFixed(0)} / ${r.end.rssMiB.toFixed(0)} MiB | ${r.flat ? 'yes' : 'NO'} |`,
        ),
        '',
        '"Flat" means: from 10% of the keys to the end, the live heap grew by less than 8 MiB and the RSS by less than 64 MiB',
        '(a source that kept its keys would add ~100 bytes of heap per key, ~90 MiB here). The readers hold one page, the',
        "CSV parser's and gunzip's buffers; the keys live in the SQLite file. The time is the checkpoint's inserts plus,",
        'for the inventory, reading each file twice (the MD5 check, then the rows).',
      ].join('\n'),
    );
    if (results.some((r) => !r.flat))
      throw new Error(
        `memory was not flat: ${results
          .filter((r) => !r.flat)
          .map((r) => r.source)
          .join(', ')} (figures written to BENCHMARKS.md)`,
      );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runBench('manifest', main, {
  describe:
    'Memory of reading 1,000,000 keys into a checkpoint from a generated S3 Inventory report, a Batch Operations CSV and a synthetic listing (local files, no S3; about 160 MiB in a temporary folder)',
  env: [['BENCH_MANIFEST_KEYS', 'keys per source (1000000)']],
});
