/**
 * Zero downtime through the S3-API gateway: the zero-downtime test's load (helpers/load-client.ts: reads, uploads,
 * new versions, deletes, each read checked against the latest write) sent as S3 requests signed as the app
 * (GetObject, PutObject, DeleteObject) to the gateway in dual-read, while `npm run migrate -- --env local` runs.
 * Then: no request failed, the migrator finished, and every key reads right and from the new bucket (the
 * gateway's x-bucketmove-source header), with no fallback hit logged after. Nothing here asserts on time.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { countFallbackHitsInFile } from '../../migrator/src/store/fallback-events';
import { tmpDirPerFile } from '../helpers/tmp';
import { gatewayApi, startGateway } from './helpers/gateway';
import { loadAroundMigration, type LoadShape } from './helpers/load-around-migration';
import { LoadClient, planOps } from './helpers/load-client';
import { fernetKey, seedLoadPhotos, writeWorkspace } from './helpers/migration';
import { storeEnv, type RunningService } from './helpers/photo-service';
import { rigState, uniqueKey } from './helpers/rig';

const SEED = 'gateway-zero-downtime';
const LEGACY_PHOTOS = 120;
const LOAD: LoadShape = { workers: 6, beforeOps: 200, afterOps: 200, maxSeconds: 90 };
const APP = { accessKeyId: 'AKIDGATEWAYLOAD', secretAccessKey: randomBytes(24).toString('base64') };

jest.setTimeout(180_000);

const state = rigState();
const tmpDir = tmpDirPerFile('bm-gw-zdt-');
let gw: RunningService | undefined;
afterAll(async () => {
  await gw?.stop();
});

test('the gateway serves every S3 request of the app correctly while the migrator runs', async () => {
  const prefix = `${uniqueKey('gw-zdt')}/chats/`;
  const legacy = await seedLoadPhotos(SEED, LEGACY_PHOTOS, prefix);

  const logFile = path.join(tmpDir(), 'gateway.log');
  gw = await startGateway({
    bundled: true,
    args: ['--region', state.region],
    env: {
      ...storeEnv({ mode: 'dual-read', fernetKeys: [fernetKey()] }),
      BUCKETMOVE_GATEWAY_ACCESS_KEY_ID: APP.accessKeyId,
      BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY: APP.secretAccessKey,
    },
    logFile,
  });
  const api = gatewayApi(state.buckets.primary, APP, state.region);
  const client = new LoadClient(
    gw.url,
    SEED,
    planOps({ seed: SEED, legacy, reserved: new Set(), newPrefix: `${prefix}app/`, maxOps: 20_000, maxDeletes: 10 }),
    legacy,
    api,
  );

  const dir = tmpDir();
  const wsDir = path.join(dir, 'workspaces');
  fs.mkdirSync(wsDir);
  writeWorkspace(wsDir);
  const { timedOut, migration, migratorStartedAt, migratorDoneAt } = await loadAroundMigration(client, LOAD, {
    prefix,
    dir,
    workspacesDir: wsDir,
  });
  expect(timedOut).toBe(false);
  expect(client.failures.slice(0, 10)).toEqual([]);
  expect(migration?.code).toBe(0);

  // Every key once more: its latest bytes (or 404), from the new bucket; no fallback hit logged from here on.
  const checkFrom = new Date();
  const sources = new Map<string, string | undefined>();
  for (const key of [...client.expected.keys()].sort()) sources.set(key, await client.check(key));
  expect(client.failures.slice(0, 10)).toEqual([]);
  expect([...sources].filter(([, s]) => s === 'legacy')).toEqual([]);
  const reads = client.samples.filter((s) => s.kind === 'read-direct' || s.kind === 'read-fallback');
  expect(reads.filter((s) => s.at < migratorStartedAt && s.kind === 'read-fallback').length).toBeGreaterThan(20);
  expect(reads.filter((s) => s.at - s.ms > migratorDoneAt && s.kind === 'read-fallback')).toEqual([]);
  expect(await gw.stop()).toBe(0);
  expect((await countFallbackHitsInFile(logFile, { since: checkFrom })).hits).toBe(0);
  console.log(
    `gateway zero-downtime: ${client.requests} S3 requests through the gateway, ${client.failures.length} failed; ${reads.filter((s) => s.kind === 'read-fallback').length} reads fell back before the backfill reached them`,
  );
});
