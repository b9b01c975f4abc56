/**
 * The app writes a large photo while the migrator is writing its copy of the same key (objects above the part size),
 * on the real RGW, which ignores If-None-Match on CompleteMultipartUpload (migrator/rig/README.md). Deterministic: a
 * proxy between the migrator and S3 holds the migrator's object-creating request for the key (PutObject, or a
 * CompleteMultipartUpload), the app's store writes the key meanwhile, then the proxy lets the request through.
 * The app's bytes must remain, and the run must record the key as kept as the app wrote it.
 */
import { randomBytes } from 'crypto';
import * as path from 'path';
import { createStoreFromEnv, type PhotoStore } from '../../migrator/src/store';
import { createLogger } from '../../migrator/src/log';
import { FernetCodec } from '../../migrator/src/codec/fernet';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { tmpDirPerFile } from '../helpers/tmp';
import { hookedCodec } from '../helpers/fakes';
import { fernetKey, getNew, headNew, migrateLib, multipartUploadsUnder, putLegacy } from './helpers/migration';
import { storeEnv } from './helpers/photo-service';
import { rigState, testWorkspace, uniqueKey } from './helpers/rig';
import { createsObject, startS3Proxy, type ProxiedRequest, type S3Proxy } from './helpers/s3-proxy';
import { MIB } from '../../workspaces/units';

const tmp = tmpDirPerFile('bm-large-race-');

describe('an app write landing while the migrator writes a large object', () => {
  let proxy: S3Proxy | undefined;
  const stores: PhotoStore[] = [];
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  /** A 12 MiB photo in legacy, as the legacy app wrote it (Fernet): above the 5 MiB part size the tests use. */
  async function largeLegacyPhoto(name: string): Promise<{ prefix: string; key: string }> {
    const prefix = `${uniqueKey(name)}/`;
    const key = `${prefix}scan.jpg`;
    await putLegacy(
      key,
      new FernetCodec([fernetKey()], { storage: 'base64url-text', maxObjectBytes: 64 * MIB }).encrypt(
        randomBytes(12 * MIB),
      ),
    );
    return { prefix, key };
  }

  async function appStore(): Promise<PhotoStore> {
    const dir = tmp();
    const store = await createStoreFromEnv(storeEnv({ mode: 'dual-read', fernetKeys: [fernetKey()] }), {
      logger: createLogger({ name: 'photo-store', destination: path.join(dir, 'store.log') }),
    });
    stores.push(store);
    return store;
  }

  test('held at the write: the app PUTs the key through its store, then the write is let through: the app bytes stay', async () => {
    const { prefix, key } = await largeLegacyPhoto('mig-large-race');
    const appBytes = randomBytes(300_000);
    const store = await appStore();

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrived!: (r: ProxiedRequest) => void;
    const held = new Promise<ProxiedRequest>((resolve) => (arrived = resolve));
    proxy = await startS3Proxy(rigState().endpoint, (r) => {
      if (r.bucket !== rigState().buckets.primary || r.key !== key || !createsObject(r)) return undefined;
      arrived(r);
      return { kind: 'hold', until: released };
    });

    const dir = tmp();
    const run = migrateLib(testWorkspace(), dir, prefix, {
      clients: { rigState: { ...rigState(), endpoint: proxy.url } },
      partSize: 5 * MIB,
      concurrency: 2,
    });
    const request = await held;
    await store.put(key, appBytes, { contentType: 'image/jpeg' });
    release();
    const { summary } = await run;

    expect((await getNew(key))!.body.equals(appBytes)).toBe(true);
    const cp = Checkpoint.openReadOnly(path.join(dir, 'checkpoint.sqlite'));
    try {
      expect(cp.get(key)?.state).toBe('kept-app-version');
    } finally {
      cp.close();
    }
    expect(summary).toMatchObject({ complete: true, exitCode: 0 });
    expect(summary.run.totals['kept-app-version'].count).toBe(1);
    // The write that was held is the one this server cannot make conditional at completion: a single PUT.
    expect([request.method, summary.largeObjects?.path]).toEqual(['PUT', 'single-put']);
    // What the probe found on RGW 16, and that it left nothing.
    const probe = summary.largeObjects!.probe!;
    expect(probe).toMatchObject({ put: 'enforced', completeMultipartUpload: 'ignored', cleanedUp: true });
    await expect(headNew(probe.key)).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    expect(await multipartUploadsUnder(prefix)).toBe(0);
    expect(await multipartUploadsUnder(probe.key)).toBe(0);
  }, 120_000);

  test("mid-body: the app's write lands while the migrator's single PUT is sending its bytes: the app bytes stay", async () => {
    const { prefix, key } = await largeLegacyPhoto('mig-large-midbody');
    const appBytes = randomBytes(1000);
    const store = await appStore();
    // The codec starts twice on a large object: the hashing pass, then the upload pass, whose bytes the PUT is reading.
    let starts = 0;
    const fernet = new FernetCodec([fernetKey()], { storage: 'base64url-text', maxObjectBytes: 64 * MIB });
    const codec = hookedCodec(fernet, async () => {
      if (++starts === 2) await store.put(key, appBytes, { contentType: 'image/jpeg' });
    });
    const { summary } = await migrateLib(testWorkspace(), tmp(), prefix, { codec, partSize: 5 * MIB, concurrency: 1 });
    expect(starts).toBe(2);
    expect((await getNew(key))!.body.equals(appBytes)).toBe(true);
    expect(summary.run.totals['kept-app-version'].count).toBe(1);
  }, 120_000);
});
