/**
 * The migrator through a proxy that answers 503 SlowDown and drops connections: the run still finishes, nothing lost.
 */
import { createSideClient } from '../../migrator/src/aws/clients';
import { createCodec } from '../../migrator/src/codec';
import { planObjects } from '../../migrator/src/seed/plan';
import { seedLegacy } from '../../migrator/src/seed/seeder';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { tmpDirPerFile } from '../helpers/tmp';
import { fernetKey, getNew, listKeys, migrateLib, multipartUploadsUnder, sha256 } from './helpers/migration';
import { rigState, testWorkspace, uniqueKey } from './helpers/rig';
import { faultRule, startS3Proxy, type S3Proxy } from './helpers/s3-proxy';
import { MIB } from '../../workspaces/units';

const tmp = tmpDirPerFile('bm-faults-');

describe('faults between the migrator and S3', () => {
  let proxy: S3Proxy;
  afterAll(() => proxy?.close());

  test('with 1 in 12 requests throttled, 1 in 17 dropped and 1 in 13 cut mid-body, every object arrives intact', async () => {
    const prefix = `${uniqueKey('mig-faults')}/`;
    const ws = testWorkspace((w) => (w.migration.credentials = 'static'));
    const writer = createSideClient(ws, 'legacy', { env: {} });
    const objects = planObjects({
      count: 80,
      size: parseSizeSpec('1KiB-256KiB'),
      oddKeys: false,
      seed: 'faults',
      prefix,
    });
    const { entries } = await seedLegacy({
      client: writer,
      codec: createCodec(ws.codec, [fernetKey()], __dirname),
      objects,
      seed: 'faults',
      concurrency: 16,
    });
    const bigPlan = planObjects({
      count: 1,
      size: parseSizeSpec('12MiB'),
      oddKeys: false,
      seed: 'faults-big',
      prefix: `${prefix}big/`,
    });
    const big = await seedLegacy({
      client: writer,
      codec: createCodec(ws.codec, [fernetKey()], __dirname),
      objects: bigPlan,
      seed: 'faults-big',
      concurrency: 1,
    });
    writer.destroy();
    const all = [...entries, ...big.entries];

    const faults = faultRule({ slowDownEvery: 12, dropEvery: 17, cutBodyEvery: 13 });
    proxy = await startS3Proxy(rigState().endpoint, faults.rule);
    let slowDownsBeforeRun = 0;
    const { summary } = await migrateLib(testWorkspace(), tmp(), prefix, {
      clients: {
        rigState: { ...rigState(), endpoint: proxy.url },
        transport: { maxAttempts: 4, connectionTimeoutMs: 2000, idleTimeoutMs: 5000 },
      },
      concurrency: 8,
      maxAttempts: 10,
      partSize: 5 * MIB,
      backoff: { baseMs: 20, capMs: 500 },
      // The conditional-write probe goes through the faults too, before the run (and its pacer) starts.
      events: () => ({ start: () => (slowDownsBeforeRun = faults.counts.slowDowns) }),
    });

    expect(faults.counts.slowDowns).toBeGreaterThan(5);
    expect(faults.counts.drops).toBeGreaterThan(5);
    expect(faults.counts.cutBodies).toBeGreaterThan(3);
    expect(summary).toMatchObject({ complete: true, exitCode: 0, notMigrated: 0 });
    expect(summary.run.totals.copied.count + summary.run.totals['already-migrated'].count).toBe(all.length);
    expect(summary.run.throttles).toBe(faults.counts.slowDowns - slowDownsBeforeRun); // the pacer heard of every 503 of the run, retried or not
    expect(summary.largeObjects?.probe).toMatchObject({
      put: 'enforced',
      completeMultipartUpload: 'ignored',
      cleanedUp: true,
    });
    expect((await listKeys('primary', prefix)).sort()).toEqual(all.map((e) => e.key).sort());
    for (const e of all) expect(sha256((await getNew(e.key))!.body)).toBe(e.sha256);
    expect(await multipartUploadsUnder(prefix)).toBe(0);
  }, 180_000);
});
