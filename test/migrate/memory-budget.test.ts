/**
 * The memory budget counts what each real codec holds: the codecs' declared need (codec.memoryNeed, from
 * workspaces/codec-memory.ts) is checked against the live Buffers measured while they decrypt (in a child process, a
 * full GC before every sample so garbage not yet collected does not count: test/fixtures/codec-memory-probe.ts), and a
 * run with real codecs reserves that need per object, never holds more than its budget, and records an object that can
 * never fit as failed, with the --memory it needs.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { COLLECTOR_SLACK_BYTES, SEVERAL_KEYS_WHOLE_READ_MAX, STREAM_HELD_BYTES } from '../../workspaces/codec-memory';
import { ConfigError } from '../../workspaces/errors';
import { createCodec } from '../../migrator/src/codec';
import type { Codec } from '../../migrator/src/codec/codec';
import { FernetCodec, generateFernetKey } from '../../migrator/src/codec/fernet';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { MemoryBudget } from '../../migrator/src/migrate/memory-budget';
import { DEFAULT_MEMORY_BYTES } from '../../migrator/src/migrate/migrate-workspace';
import { checkMemoryHoldsAnObject } from '../../migrator/src/migrate/dispatcher';
import { MigrationRun } from '../../migrator/src/migrate/run';
import { UNKNOWN_SIZE, type KeySource } from '../../migrator/src/sources/key-source';
import { BASE_DRIFT_ALLOWED, CASES } from '../fixtures/codec-memory-probe';
import { runCliScript } from '../helpers/cli';
import { AWS_LARGE_OBJECTS, offlineS3Client } from '../helpers/fakes';
import { MIB } from '../../workspaces/units';

const PROBE = path.join(__dirname, '../fixtures/codec-memory-probe.ts');

interface Probe {
  readonly name: string;
  readonly codec: string;
  readonly size: number;
  readonly stored: number;
  readonly plaintext: number;
  readonly growth: number;
  readonly declared: number;
  /** How many times the case was measured, and how far the kept reading's base moved (see the probe). */
  readonly attempts: number;
  readonly drift: number;
}

describe('what each codec holds, measured against what it declares', () => {
  let probes: Probe[];
  beforeAll(() => {
    const res = spawnSync(
      process.execPath,
      ['--expose-gc', '--single-threaded-gc', '-r', require.resolve('ts-node/register/transpile-only'), PROBE],
      { encoding: 'utf8', timeout: 240_000 },
    );
    if (res.status !== 0) throw new Error(`the memory probe failed: ${res.stderr}`);
    probes = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Probe);
  }, 300_000);

  test.each(CASES.map(([name]) => name))('%s', (name) => {
    const p = probes.find((x) => x.name === name)!;
    expect(p.plaintext).toBe(p.size);
    // A reading whose base did not hold would read every sample low: the probe measures again until one holds.
    expect(p.drift).toBeLessThanOrEqual(BASE_DRIFT_ALLOWED);
    expect(p.growth).toBeLessThanOrEqual(p.declared);
    if (p.stored > SEVERAL_KEYS_WHOLE_READ_MAX && !p.codec.startsWith('plugin')) {
      // Streams (one read, or two): a few chunks, whatever the size.
      expect(p.declared).toBe(STREAM_HELD_BYTES);
    } else {
      // A whole read is seen as one: the measurement catches a codec that holds more than it declares.
      expect(p.growth).toBeGreaterThan(p.stored / 2);
    }
  });
});

describe('a run with real codecs reserves what they hold', () => {
  const ID = { env: 'local', legacyBucket: 'old', newBucket: 'new', prefix: '' };
  const partSize = 5 * MIB;
  const queueSize = 2;

  /**
   * A mocked legacy bucket of `objects` (stored bytes, chunked as a GET delivers them) and a new bucket that records
   * what it gets.
   */
  function buckets(objects: Record<string, Buffer>) {
    const source = offlineS3Client();
    const target = offlineS3Client();
    const src = mockClient(source);
    const dst = mockClient(target);
    const etag = (k: string) => createHash('md5').update(objects[k]).digest('hex');
    const gets: Record<string, number> = {};
    src.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      gets[input.Key] = (gets[input.Key] ?? 0) + 1;
      const body = objects[input.Key];
      const parts: Buffer[] = [];
      for (let at = 0; at < body.length; at += 65536) parts.push(body.subarray(at, at + 65536));
      return {
        Body: Readable.from(parts, { objectMode: false }),
        ContentLength: body.length,
        ETag: `"${etag(input.Key)}"`,
      };
    });
    src.on(ListObjectsV2Command).callsFake(() => ({
      Contents: Object.keys(objects)
        .sort()
        .map((Key) => ({ Key, ETag: `"${etag(Key)}"`, Size: objects[Key].length })),
    }));
    const written: Record<string, Buffer[]> = {};
    dst.on(PutObjectCommand).callsFake(async (input: { Key: string; Body: Buffer }) => {
      written[input.Key] = [Buffer.from(input.Body)];
      return {};
    });
    dst
      .on(HeadObjectCommand)
      .rejects(Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    dst.on(CreateMultipartUploadCommand).callsFake(async (input: { Key: string }) => ({ UploadId: `u-${input.Key}` }));
    dst.on(UploadPartCommand).callsFake(async (input: { Key: string; PartNumber: number; Body: Buffer }) => {
      (written[input.Key] ??= [])[input.PartNumber - 1] = Buffer.from(input.Body);
      return { ETag: `"p${input.PartNumber}"` };
    });
    dst.on(CompleteMultipartUploadCommand).resolves({});
    return { source, target, gets, written: (k: string) => (written[k] ? Buffer.concat(written[k]) : undefined) };
  }

  /**
   * Runs with the budget's every grant recorded: the most it ever had out at once. `memoryBytes`: for object data
   * (--memory less the collector's slack).
   */
  async function runWith(
    codec: Codec,
    objects: Record<string, Buffer>,
    memoryBytes: number,
    concurrency: number,
    keys?: KeySource,
  ) {
    const b = buckets(objects);
    let most = 0;
    const grants: number[] = [];
    const realAcquire = MemoryBudget.prototype.acquire;
    const spy = jest.spyOn(MemoryBudget.prototype, 'acquire').mockImplementation(async function (
      this: MemoryBudget,
      bytes: number,
    ) {
      const release = await realAcquire.call(this, bytes);
      grants.push(bytes);
      most = Math.max(most, this.inUse);
      return release;
    });
    const cp = Checkpoint.open(':memory:', ID);
    try {
      const run = new MigrationRun(
        {
          source: { client: b.source, bucket: 'old' },
          target: { client: b.target, bucket: 'new', sse: { ServerSideEncryption: 'AES256' }, partSize, queueSize },
          codec,
          largeObjects: AWS_LARGE_OBJECTS,
          checkpoint: cp,
          keys,
        },
        {
          concurrency,
          prefix: '',
          maxAttempts: 1,
          retryQuarantined: false,
          memoryBytes: memoryBytes + COLLECTOR_SLACK_BYTES,
        },
      );
      const res = await run.run();
      return { res, most, grants, rows: Object.fromEntries(Object.keys(objects).map((k) => [k, cp.get(k)!])), ...b };
    } finally {
      spy.mockRestore();
      cp.close();
    }
  }

  test('Fernet with rotated keys: each object reserves its real need, the run waits within --memory, large ones read twice', async () => {
    const OLD = generateFernetKey();
    const codec = new FernetCodec([generateFernetKey(), OLD], { storage: 'auto', maxObjectBytes: 256 * MIB });
    const writer = new FernetCodec([OLD], { storage: 'auto', maxObjectBytes: 256 * MIB });
    const plain: Record<string, Buffer> = {};
    const objects: Record<string, Buffer> = {};
    for (const [key, size] of [
      ['a.jpg', 1 * MIB],
      ['b.jpg', 3 * MIB],
      ['c.tif', 9 * MIB],
      ['d.tif', 10 * MIB],
      ['e.jpg', 2 * MIB],
    ] as const) {
      plain[key] = randomBytes(size);
      objects[key] = writer.encrypt(plain[key]);
    }
    const memory = 40 * MIB;
    const { res, most, grants, gets, written } = await runWith(codec, objects, memory, 4);
    expect(res.processed.copied).toBe(5);
    for (const key of Object.keys(plain)) expect(written(key)!.equals(plain[key])).toBe(true);
    expect(most).toBeLessThanOrEqual(memory);
    // A small object: its copy (2x) and the codec keeping it whole while it finds the key; a large one: its window and
    // a chunk.
    expect(grants).toContain(2 * objects['b.jpg'].length + 64 * 1024 + STREAM_HELD_BYTES + objects['b.jpg'].length);
    expect(grants).toContain((queueSize + 2) * partSize + STREAM_HELD_BYTES);
    // Small: one GET. Large: each pass reads twice (the first read finds the key), pinned to the same ETag.
    expect([gets['a.jpg'], gets['c.tif'], gets['d.tif']]).toEqual([1, 4, 4]);
  }, 120_000);

  test('an object that can never fit --memory is recorded as failed, saying what --memory it needs; the run goes on', async () => {
    const codec = createCodec({ type: 'plugin', module: '../fixtures/reverse-codec.ts', options: {} }, [], __dirname); // declares nothing: 4x
    const small = randomBytes(MIB);
    const big = randomBytes(12 * MIB);
    const objects = {
      'big.tif': codec.encrypt(big, { key: 'big.tif' }),
      'small.jpg': codec.encrypt(small, { key: 'small.jpg' }),
    };
    const { res, rows, gets, written } = await runWith(codec, objects, 48 * MIB, 2);
    expect(res.processed).toMatchObject({ copied: 1, failed: 1 });
    expect(written('small.jpg')!.equals(small)).toBe(true);
    expect(rows['big.tif']).toMatchObject({ state: 'failed', errorCode: 'OverMemoryBudget' });
    expect(rows['big.tif'].errorMessage).toMatch(
      /^copying this 13 MiB object needs 70 MiB of object data \(codec plugin:reverse: 50 MiB, the copy: 20 MiB\) beside the 88 MiB kept for garbage the collector has not reclaimed yet, more than --memory 136 MiB; run again with --memory 158 or more$/,
    );
    expect(gets['big.tif']).toBeUndefined(); // refused before its GET: nothing read, nothing written

    // The same from a manifest without sizes: refused once its GET tells the size, before a byte is decrypted.
    const manifest: KeySource = {
      describe: 'manifest s3://m/k#e',
      async *pages() {
        yield {
          objects: Object.keys(objects).map((key) => ({ key, size: UNKNOWN_SIZE, etag: '' })),
          cursor: 'rows:2',
          isLast: true,
        };
      },
    };
    const fromManifest = await runWith(codec, objects, 48 * MIB, 2, manifest);
    expect(fromManifest.res.processed).toMatchObject({ copied: 1, failed: 1 });
    expect(fromManifest.rows['big.tif']).toMatchObject({ state: 'failed', errorCode: 'OverMemoryBudget' });
    expect([fromManifest.gets['big.tif'], fromManifest.written('big.tif')]).toEqual([1, undefined]);
  }, 60_000);

  test("a --memory that cannot hold one object of the part size through the codec (beside the collector's slack) is refused in one line", () => {
    const codec = new FernetCodec([generateFernetKey()], { storage: 'auto', maxObjectBytes: 256 * MIB });
    const w = { partSize: 8 * MIB, queueSize: 4 };
    expect(() => checkMemoryHoldsAnObject(100 * MIB, codec, w)).toThrow(ConfigError);
    expect(() => checkMemoryHoldsAnObject(100 * MIB, codec, w)).toThrow(
      /^--memory 100 MiB cannot hold one large object's upload window \(6 parts of --part-size 8 MiB\) through codec fernet: it needs 49 MiB of object data beside the 88 MiB kept for garbage the collector has not reclaimed yet; give --memory 137 or more, or a smaller --part-size$/,
    );
    expect(() => checkMemoryHoldsAnObject(DEFAULT_MEMORY_BYTES, codec, w)).not.toThrow();
  });
});

test('npm run migrate with a --memory too small for one object of --part-size: one line, exit 2, nothing written', async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-memory-cli-'));
  try {
    const run = await runCliScript('migrate', ['--env', 'local', '--memory', '32', '--part-size', '8'], {
      cwd,
      env: { LEGACY_FERNET_KEYS: generateFernetKey() },
    });
    expect({ code: run.code, stderr: run.stderr, stdout: run.stdout }).toEqual({
      code: 2,
      stderr:
        "migrate: --memory 32 MiB cannot hold one large object's upload window (6 parts of --part-size 8 MiB) through codec fernet: it needs 49 MiB of object data beside the 88 MiB kept for garbage the collector has not reclaimed yet; give --memory 137 or more, or a smaller --part-size\n",
      stdout: '',
    });
    expect(fs.readdirSync(cwd)).toEqual([]);
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}, 120_000);
