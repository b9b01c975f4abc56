/**
 * Zero downtime, for real: the legacy bucket is seeded; the reference photo service runs in dual-read mode (a child
 * process, wired from the environment); a load client keeps reading random photos (legacy ones mostly), uploading
 * new ones, writing new versions of existing ones and deleting a few; and `npm run migrate -- --env local` (the CLI,
 * a child process) runs while the load goes on. Then:
 *
 * - no request failed, and every read returned the bytes of the latest write of its key (or 404 after a delete);
 * - no write of the app was overwritten by the migrator (the app's bytes are there, without provenance);
 * - photos deleted during the migration stay deleted, including deterministic races with a copy in flight: the
 *   migrator reaches the S3 endpoint through a proxy that holds its PUT of chosen keys until the app has deleted them;
 * - after the migration, every key is served without a fallback hit (response header, counters and log lines).
 *
 * The figures (requests, errors, p50/p99 of direct and fallback reads) are printed; `npm run bench:zero-downtime`
 * also writes them to BENCHMARKS.md. Nothing here asserts on time.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { runContextLines, writeSection } from '../../migrator/bench/benchmarks-md';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { isTombstone, PROVENANCE, readProvenance } from '../../migrator/src/objects/provenance';
import { readRigState, rigStatePath, writeRigState } from '../../migrator/src/aws/rig-state';
import { countFallbackHitsInFile } from '../../migrator/src/store/fallback-events';
import { tmpDirPerFile } from '../helpers/tmp';
import { loadAroundMigration, type LoadShape } from './helpers/load-around-migration';
import { LoadClient, percentile, planOps, type Sample } from './helpers/load-client';
import { fernetKey, seedLoadPhotos, writeWorkspace } from './helpers/migration';
import { startPhotoService, storeEnv, type RunningService } from './helpers/photo-service';
import { rigState, s3As, uniqueKey } from './helpers/rig';
import { startS3Proxy, type S3Proxy } from './helpers/s3-proxy';
import { httpStatusOf } from '../../migrator/src/aws/errors';

const SEED = 'zero-downtime';
const LEGACY_PHOTOS = 200;
/** Keys the app deletes while the migrator's copy of them is in flight (held at the proxy). */
const RACE_POSITIONS = [37, 88, 141, 190];
const LOAD: LoadShape = { workers: 8, beforeOps: 300, afterOps: 300, maxSeconds: 75 };

const tmpDir = tmpDirPerFile('bm-zdt-');

/**
 * After the app deleted a photo whose copy is in flight: polls it through the service for up to 10 s and returns how
 * long it was served again (from the first 200 to the 404 that follows), 0 if never.
 */
async function servedAgainFor(url: string, key: string): Promise<number> {
  const until = performance.now() + 10_000;
  let first: number | undefined;
  while (performance.now() < until) {
    const res = await fetch(`${url}/photos/${encodeURIComponent(key)}`);
    await res.arrayBuffer();
    const now = performance.now();
    if (res.status === 200) first ??= now;
    else if (res.status === 404 && first !== undefined) return now - first;
    await new Promise((r) => setTimeout(r, 10));
  }
  return first === undefined ? 0 : until - first;
}
const state = rigState();
const statistics = (xs: Sample[]) => ({
  n: xs.length,
  p50: percentile(
    xs.map((s) => s.ms),
    50,
  ),
  p99: percentile(
    xs.map((s) => s.ms),
    99,
  ),
});
const fmt = (ms: number) => (Number.isNaN(ms) ? '-' : `${ms.toFixed(1)} ms`);

jest.setTimeout(180_000);

let proxy: S3Proxy | undefined;
let svc: RunningService | undefined;
afterAll(async () => {
  await svc?.stop();
  await proxy?.close();
});

test('the photo service serves every request correctly while the migrator runs', async () => {
  const loadAtStart = os.loadavg()[0];
  const prefix = `${uniqueKey('zdt')}/chats/`;

  // 1. The legacy bucket, as the legacy app left it.
  const legacy = await seedLoadPhotos(SEED, LEGACY_PHOTOS, prefix);
  const sortedKeys = [...legacy.keys()].sort();
  const raceKeys = RACE_POSITIONS.map((i) => sortedKeys[i]);

  // 2. The service, in dual-read, straight to the rig; its stdout (JSON lines) is the audit's local log.
  const logFile = path.join(tmpDir(), 'photo-service.log');
  svc = await startPhotoService(storeEnv({ mode: 'dual-read', fernetKeys: [fernetKey()] }), logFile);
  const metrics = async () =>
    (await (await fetch(`${svc!.url}/metrics`)).json()) as {
      fallbackHits: number;
      errors: { new: number; legacy: number };
    };

  // 3. The migrator reaches S3 through a proxy that holds its PUT of each race key until the app has deleted it.
  const client = new LoadClient(
    svc.url,
    SEED,
    planOps({
      seed: SEED,
      legacy,
      reserved: new Set(raceKeys),
      newPrefix: `${prefix}app/`,
      maxOps: 20_000,
      maxDeletes: 12,
    }),
    legacy,
  );
  const raced: string[] = [];
  const windows: Array<Promise<number>> = [];
  proxy = await startS3Proxy(state.endpoint, (r) => {
    if (r.method === 'PUT' && r.bucket === state.buckets.primary && r.key && raceKeys.includes(r.key)) {
      raced.push(r.key);
      const deleted = client.delete(r.key);
      windows.push(deleted.then(() => servedAgainFor(svc!.url, r.key!)));
      return { kind: 'hold', until: deleted };
    }
    return undefined;
  });
  const dir = tmpDir();
  const proxiedState = path.join(dir, 'state.json');
  writeRigState(proxiedState, { ...readRigState(rigStatePath()), endpoint: proxy.url });
  const wsDir = path.join(dir, 'workspaces');
  fs.mkdirSync(wsDir);
  writeWorkspace(wsDir); // local.json for the run's rig, as the migrator is configured (assume-role)

  // 4. The load: before, during and after the migration.
  const { opsDone, timedOut, migration, migratorStartedAt, migratorDoneAt, checkpoint } = await loadAroundMigration(
    client,
    LOAD,
    {
      prefix,
      dir,
      workspacesDir: wsDir,
      env: { BUCKETMOVE_RIG_STATE: proxiedState },
    },
  );
  expect(timedOut).toBe(false);
  expect(migration).toBeDefined();
  expect({
    code: migration!.code,
    stderr: migration!.stderr
      .split('\n')
      .filter((l) => !l.startsWith('{'))
      .join('\n'),
  }).toEqual({ code: 0, stderr: '' });
  expect(migration!.stdout).toMatch(/^migration of local complete: /);

  // 5. Every key, once more: the bytes of its latest write (or 404), and never from legacy.
  const hitsBefore = (await metrics()).fallbackHits;
  const checkFrom = new Date();
  const allKeys = [...client.expected.keys()].sort();
  const sources = new Map<string, string | undefined>();
  for (const key of allKeys) sources.set(key, await client.check(key));
  const failures = client.failures;
  expect(failures.slice(0, 10)).toEqual([]);
  expect([...sources].filter(([, s]) => s === 'legacy')).toEqual([]);
  expect((await metrics()).fallbackHits).toBe(hitsBefore);
  expect((await countFallbackHitsInFile(logFile, { since: checkFrom })).hits).toBe(0);
  // Reads that started after the migration finished fell back no more either; before it, they did (the fallback ran).
  const reads = client.samples.filter((s) => s.kind === 'read-direct' || s.kind === 'read-fallback');
  expect(reads.filter((s) => s.at - s.ms > migratorDoneAt && s.kind === 'read-fallback')).toEqual([]);
  expect(reads.filter((s) => s.at - s.ms > migratorDoneAt).length).toBeGreaterThan(50);
  expect(reads.filter((s) => s.at < migratorStartedAt && s.kind === 'read-fallback').length).toBeGreaterThan(50);
  expect((await metrics()).errors).toEqual({ new: 0, legacy: 0 });

  // 6. The migrator never overwrote the app: what the app wrote is there, byte for byte (checked above), unmarked.
  const primaryApp = s3As('primaryApp');
  const legacyApp = s3As('legacyApp');
  const head = async (c: typeof primaryApp, bucket: string, key: string) => {
    try {
      return await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  };
  const cp = Checkpoint.openReadOnly(checkpoint);
  try {
    let keptBeforeTheMigrator = 0;
    for (const key of allKeys) {
      const want = client.expected.get(key)!;
      const inNew = await head(primaryApp, state.buckets.primary, key);
      if (want === 'deleted') {
        // 7. Deleted photos stay deleted: gone from legacy; in new, nothing or the app's tombstone.
        expect([
          key,
          inNew === undefined || isTombstone(inNew.Metadata),
          (await head(legacyApp, state.buckets.legacy, key))?.ContentLength,
        ]).toEqual([key, true, undefined]);
        continue;
      }
      expect([key, inNew?.ContentLength]).toEqual([key, want.size]);
      const prov = readProvenance(inNew!.Metadata);
      const appWroteAt = client.touchedByApp.get(key);
      if (appWroteAt !== undefined) {
        expect([key, inNew!.Metadata?.[PROVENANCE.sourceEtag]]).toEqual([key, undefined]);
        // A legacy photo the app rewrote before the migrator started: the migrator found the app's version and kept it.
        if (legacy.has(key) && appWroteAt < migratorStartedAt) {
          expect([key, cp.get(key)?.state]).toEqual([key, 'kept-app-version']);
          keptBeforeTheMigrator++;
        }
      } else {
        expect([key, prov?.plaintextSha256, cp.get(key)?.state]).toEqual([key, want.sha256, 'copied']);
      }
    }
    // The races were provoked, and the app's tombstone refused the migrator's copy of each.
    expect([...raced].sort()).toEqual([...raceKeys].sort());
    expect(raceKeys.map((k) => [k, cp.get(k)?.state])).toEqual(raceKeys.map((k) => [k, 'deleted-during-copy']));
    expect(raceKeys.map((k) => client.expected.get(k))).toEqual(raceKeys.map(() => 'deleted'));
    // Not for a moment was a raced photo served again: the copy never landed (its If-None-Match met the tombstone).
    const servedAgainMs = await Promise.all(windows);
    expect(servedAgainMs).toEqual(raceKeys.map(() => 0));
    const totals = cp.counts();
    expect(totals.quarantined.count + totals.failed.count + totals.pending.count).toBe(0);

    // 8. The figures.
    const by = (kind: Sample['kind']) => client.samples.filter((s) => s.kind === kind);
    const direct = statistics(by('read-direct'));
    const fallback = statistics(by('read-fallback'));
    const writes = statistics(by('write'));
    const deletes = statistics(by('delete'));
    const during = client.samples.filter((s) => s.at >= migratorStartedAt && s.at <= migratorDoneAt).length;
    const seconds = (migratorDoneAt - migratorStartedAt) / 1000;
    const summary = [
      `requests: ${client.requests} (${opsDone} load operations, ${raceKeys.length} race deletes, ${allKeys.length} final checks), failed: ${failures.length}`,
      `reads served directly (new bucket): ${direct.n}, p50 ${fmt(direct.p50)}, p99 ${fmt(direct.p99)}`,
      `reads that fell back (legacy, decrypted): ${fallback.n}, p50 ${fmt(fallback.p50)}, p99 ${fmt(fallback.p99)}`,
      `writes: ${writes.n}, p50 ${fmt(writes.p50)}, p99 ${fmt(writes.p99)}; deletes: ${deletes.n}, p50 ${fmt(deletes.p50)}, p99 ${fmt(deletes.p99)}`,
      `migration: ${seconds.toFixed(1)} s with the CLI's start (${during} requests served meanwhile): copied ${totals.copied.count}, kept as the app wrote them ${totals['kept-app-version'].count}, deleted by the app ${totals.vanished.count + totals['deleted-during-copy'].count} (${totals['deleted-during-copy'].count} while their copy was in flight)`,
      `photos deleted while their copy was in flight: ${raceKeys.length}, each refused by the app's tombstone (served again for ${servedAgainMs.map((ms) => `${Math.round(ms)} ms`).join(', ')})`,
    ];
    console.log(`zero-downtime test\n${summary.join('\n')}`);
    expect(during).toBeGreaterThan(0);
    expect(keptBeforeTheMigrator).toBeGreaterThan(10);

    if (process.env.BUCKETMOVE_BENCH_WRITE === '1') {
      writeSection(
        'zero-downtime',
        [
          '## Zero downtime under load',
          '',
          `Command: \`npm run bench:zero-downtime\` (test/integration/zero-downtime.test.ts on the local RGW rig: ${LEGACY_PHOTOS} legacy photos of 1-48 KiB`,
          `(Fernet); the photo service in dual-read as a child process; ${LOAD.workers} concurrent clients on 127.0.0.1 reading, uploading, overwriting and`,
          'deleting; the migrate CLI (`npm run migrate -- --env local --concurrency 4`) started after the first ' +
            `${LOAD.beforeOps} operations; ${LOAD.afterOps} more after it ended).`,
          ...runContextLines(loadAtStart),
          '',
          '| requests | count | p50 | p99 |',
          '|---|---:|---:|---:|',
          `| reads served directly (new bucket) | ${direct.n} | ${fmt(direct.p50)} | ${fmt(direct.p99)} |`,
          `| reads that fell back (legacy GET + Fernet decrypt) | ${fallback.n} | ${fmt(fallback.p50)} | ${fmt(fallback.p99)} |`,
          `| uploads and new versions | ${writes.n} | ${fmt(writes.p50)} | ${fmt(writes.p99)} |`,
          `| deletes (legacy, then a tombstone in new) | ${deletes.n} | ${fmt(deletes.p50)} | ${fmt(deletes.p99)} |`,
          '',
          `${client.requests} requests in all, ${failures.length} failed. ${summary[4].replace(/^migration/, 'Migration')}. After it, no read fell back.`,
          'The latencies are mostly queueing: the clients, RGW, the service and the migrator share the 2 cores. A fallback read',
          'costs a 404 from the new bucket, the legacy GET and a whole-object Fernet decrypt before the first byte is sent.',
          `Deleted while its copy was in flight (the copy's PUT held at a proxy until the app's delete was done), each of the ${raceKeys.length}`,
          `photos was polled through the service from the delete on: 404 every time (served again for ${servedAgainMs.map((ms) => `${Math.round(ms)} ms`).join(', ')}); the migrator's`,
          'held PUT met the tombstone the delete left and got 412, so the copy never landed.',
        ].join('\n'),
      );
    }
  } finally {
    cp.close();
    primaryApp.destroy();
    legacyApp.destroy();
  }
});
