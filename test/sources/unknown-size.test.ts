/**
 * Rows of unknown size (a Bucket,Key manifest): the run's memory reservation follows the size the GET tells, the
 * checkpoint records the real size and ETag, and no -1 shows as bytes.
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
import { createHash } from 'crypto';
import { Readable } from 'stream';
import { COLLECTOR_SLACK_BYTES } from '../../workspaces/codec-memory';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { MemoryBudget } from '../../migrator/src/migrate/memory-budget';
import { MigrationRun } from '../../migrator/src/migrate/run';
import { UNKNOWN_SIZE, type KeySource } from '../../migrator/src/sources/key-source';
import { AWS_LARGE_OBJECTS, identityCodec, mockedCopyDeps, offlineS3Client } from '../helpers/fakes';
import { MIB } from '../../workspaces/units';

const ID = { env: 'local', legacyBucket: 'old', newBucket: 'new', prefix: '', source: 'manifest s3://m/k#e' };

describe('Checkpoint rows of unknown size', () => {
  test('count no bytes until copied; the copy records the size and ETag read; listing them again keeps both', () => {
    const cp = Checkpoint.open(':memory:', ID);
    cp.addListedPage(
      [
        { key: 'a', size: UNKNOWN_SIZE, etag: '' },
        { key: 'b', size: UNKNOWN_SIZE, etag: '' },
      ],
      false,
      'rows:2',
    );
    expect(cp.counts().pending).toEqual({ count: 2, bytes: 0 });
    cp.record('a', {
      state: 'copied',
      etag: 'e-a',
      size: 1234,
      versionId: 'null',
      plaintextSha256: 'x',
      plaintextSize: 1200,
    });
    expect(cp.get('a')).toMatchObject({ size: 1234, etag: 'e-a', state: 'copied' });
    expect(cp.counts().copied).toEqual({ count: 1, bytes: 1234 });
    cp.addListedPage([{ key: 'a', size: UNKNOWN_SIZE, etag: '' }], true, 'rows:3');
    expect(cp.get('a')).toMatchObject({ size: 1234, etag: 'e-a', state: 'copied' });
    // A source that does tell a different ETag still makes the key pending again.
    cp.addListedPage([{ key: 'a', size: 99, etag: 'e-changed' }], true);
    expect(cp.get('a')).toMatchObject({ size: 99, etag: 'e-changed', state: 'pending' });
    cp.close();
  });
});

describe('MemoryBudget.shrinkTo', () => {
  test('gives bytes back at once, and the rest on release', async () => {
    const b = new MemoryBudget(100);
    const first = await b.acquire(100);
    let second = false;
    const waiting = b.acquire(40).then((r) => {
      second = true;
      return r;
    });
    await Promise.resolve();
    expect(second).toBe(false);
    first.shrinkTo(60);
    const r2 = await waiting;
    expect(b.inUse).toBe(100);
    first.shrinkTo(80); // never grows
    expect(b.inUse).toBe(100);
    first();
    first();
    expect(b.inUse).toBe(40);
    r2();
    expect(b.inUse).toBe(0);
  });
});

describe('a run over keys of unknown size', () => {
  const sizes: Record<string, number> = { 'small.jpg': 1000, 'medium.jpg': 3 * MIB, 'large.jpg': 7 * MIB };
  const bodies = Object.fromEntries(Object.entries(sizes).map(([k, n]) => [k, Buffer.alloc(n, k.length)]));
  const etagOf = (k: string) => createHash('md5').update(bodies[k]).digest('hex');

  test('reserves the small-object ceiling, shrinks to fit small ones, takes the window before a large upload; records real sizes', async () => {
    const source = offlineS3Client();
    const target = offlineS3Client();
    const src = mockClient(source);
    const dst = mockClient(target);
    src.on(GetObjectCommand).callsFake((input: { Key: string }) => ({
      Body: Readable.from([bodies[input.Key]]),
      ContentLength: sizes[input.Key],
      ETag: `"${etagOf(input.Key)}"`,
    }));
    src.on(ListObjectsV2Command).callsFake(() => ({
      Contents: Object.keys(sizes)
        .sort()
        .map((Key) => ({ Key, ETag: `"${etagOf(Key)}"`, Size: sizes[Key] })),
    }));
    dst.on(PutObjectCommand).resolves({});
    dst
      .on(HeadObjectCommand)
      .rejects(Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    dst.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    dst.on(UploadPartCommand).resolves({ ETag: '"p"' });
    dst.on(CompleteMultipartUploadCommand).resolves({});

    const events: string[] = [];
    const realAcquire = MemoryBudget.prototype.acquire;
    const spy = jest.spyOn(MemoryBudget.prototype, 'acquire').mockImplementation(async function (
      this: MemoryBudget,
      bytes: number,
    ) {
      const release = await realAcquire.call(this, bytes);
      events.push(`acquire ${bytes}`);
      return Object.assign(
        () => {
          events.push(`release`);
          release();
        },
        { shrinkTo: (n: number) => (events.push(`shrink ${n}`), release.shrinkTo(n)) },
      );
    });

    const partSize = 5 * MIB;
    const queueSize = 2;
    const keys: KeySource = {
      describe: ID.source,
      async *pages() {
        // Not in key order, as a manifest may be.
        yield {
          objects: ['small.jpg', 'large.jpg', 'medium.jpg'].map((key) => ({ key, size: UNKNOWN_SIZE, etag: '' })),
          cursor: 'rows:3',
          isLast: true,
        };
      },
    };
    const cp = Checkpoint.open(':memory:', ID);
    const bytes: number[] = [];
    try {
      const run = new MigrationRun(
        {
          ...mockedCopyDeps(source, target, AWS_LARGE_OBJECTS, queueSize),
          checkpoint: cp,
          keys,
          events: { finished: (row) => bytes.push(row.size) },
        },
        {
          concurrency: 1,
          prefix: '',
          maxAttempts: 1,
          retryQuarantined: false,
          memoryBytes: 64 * MIB + COLLECTOR_SLACK_BYTES,
        },
      );
      const res = await run.run();
      expect(res.processed.copied).toBe(3);
      expect(res.storedBytes).toBe(1000 + 3 * MIB + 7 * MIB);
      expect(bytes.sort((a, b) => a - b)).toEqual([1000, 3 * MIB, 7 * MIB]);
      for (const k of Object.keys(sizes))
        expect(cp.get(k)).toMatchObject({ size: sizes[k], etag: etagOf(k), state: 'copied' });
      expect(cp.counts().copied.bytes).toBe(1000 + 3 * MIB + 7 * MIB);
    } finally {
      spy.mockRestore();
      cp.close();
    }
    const codecShare = identityCodec.memoryNeed(0); // a pass-through: a chunk, whatever the size
    const ceiling = 2 * partSize + 64 * 1024 + codecShare;
    const window = (queueSize + 2) * partSize + codecShare;
    // concurrency 1: one object after another, in key order (large, medium, small).
    expect(events).toEqual([
      `acquire ${ceiling}`,
      'release',
      `acquire ${window}`,
      'release', // large: pass 1 within the ceiling, the window for the upload
      `acquire ${ceiling}`,
      `shrink ${2 * 3 * MIB + 64 * 1024 + codecShare}`,
      'release', // medium
      `acquire ${ceiling}`,
      `shrink ${2 * 1000 + 64 * 1024 + codecShare}`,
      'release', // small
    ]);
  });

  test('keys recorded behind the dispatcher (a manifest out of key order) are copied too', async () => {
    const source = offlineS3Client();
    const target = offlineS3Client();
    const order = ['m', 'a', 'z', 'b', 'c'];
    const src = mockClient(source);
    const dst = mockClient(target);
    src
      .on(GetObjectCommand)
      .callsFake(() => ({ Body: Readable.from([Buffer.from('x')]), ContentLength: 1, ETag: '"e"' }));
    src
      .on(ListObjectsV2Command)
      .callsFake(() => ({ Contents: [...order].sort().map((Key) => ({ Key, ETag: '"e"', Size: 1 })) }));
    dst.on(PutObjectCommand).resolves({});
    const copied: string[] = [];
    let release!: () => void;
    const firstCopied = new Promise<void>((r) => (release = r));
    const keys: KeySource = {
      describe: ID.source,
      async *pages() {
        for (let i = 0; i < order.length; i++) {
          yield {
            objects: [{ key: order[i], size: UNKNOWN_SIZE, etag: '' }],
            cursor: `rows:${i + 1}`,
            isLast: i === order.length - 1,
          };
          if (i === 0) await firstCopied; // the dispatcher has passed "m" before "a" and "b" arrive
        }
      },
    };
    const cp = Checkpoint.open(':memory:', ID);
    try {
      const run = new MigrationRun(
        {
          ...mockedCopyDeps(source, target, AWS_LARGE_OBJECTS, 1),
          checkpoint: cp,
          keys,
          events: {
            finished: (row) => {
              copied.push(row.key);
              release();
            },
          },
        },
        {
          concurrency: 2,
          prefix: '',
          maxAttempts: 1,
          retryQuarantined: false,
          memoryBytes: 64 * MIB + COLLECTOR_SLACK_BYTES,
        },
      );
      const res = await run.run();
      expect(copied[0]).toBe('m');
      expect([...copied].sort()).toEqual([...order].sort());
      expect(res.totals.pending.count).toBe(0);
      expect(res.listingComplete).toBe(true);
    } finally {
      cp.close();
    }
  });
});
