/**
 * ListObjectsV2 on the light path (migrator/src/aws/list-objects.ts) against the real RGW 16, beside the SDK's
 * ListObjectsV2Command on the same bucket: the keys that break naive tools (the seed's odd keys, and control
 * characters, which RGW sends as character references), in pages of 1,000 and of 4 (continuation tokens), after a
 * start-after key, under a prefix that needs encoding; RGW checks each request's signature, query string included.
 * The delete recheck's listing (missingFromLegacy) finds the same keys gone on both paths.
 */
import { enableLightPath } from '../../migrator/src/aws/light-s3';
import { createS3Client } from '../../migrator/src/aws/clients';
import { listObjectsPage } from '../../migrator/src/aws/list-objects';
import { listLegacy } from '../../migrator/src/objects/list-legacy';
import { missingFromLegacy } from '../../migrator/src/migrate/recheck-deletes';
import { planObjects } from '../../migrator/src/seed/plan';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { putLegacy } from './helpers/migration';
import { keysOf, rigState, uniqueKey } from './helpers/rig';

const client = (light: boolean) => {
  const c = createS3Client({
    endpoint: rigState().endpoint,
    region: rigState().region,
    s3Compatible: true,
    credentials: keysOf('legacyApp'),
  });
  return light ? enableLightPath(c, 'light') : c;
};

describe('the light ListObjectsV2 lists what the SDK lists', () => {
  const prefix = `${uniqueKey('list-rig')}/a+b %/`;
  // The seed's keys that break naive tools (spaces, +, %, Unicode, XML's special characters, 24 levels, the longest
  // key, a folder marker), and control characters, which RGW writes as character references.
  const KEYS = [
    ...planObjects({ count: 0, size: parseSizeSpec('0'), oddKeys: true, seed: 'list-rig', prefix }).map((o) => o.key),
    `${prefix}control\u0001char\u001f.jpg`,
    `${prefix}tab\tand\rreturn.jpg`,
  ];
  const light = client(true);
  const sdk = client(false);
  const bucket = rigState().buckets.legacy;

  beforeAll(async () => {
    for (const [i, key] of KEYS.entries()) await putLegacy(key, Buffer.alloc(i));
  });
  afterAll(() => {
    light.destroy();
    sdk.destroy();
  });

  const all = async (c: typeof light, pageSize: number, startAfter?: string) => {
    const pages = [];
    for await (const page of listLegacy(c, bucket, { prefix, pageSize, startAfter })) pages.push(page);
    return pages;
  };

  test.each([1000, 4])('every key, size, ETag and date, in pages of %i', async (pageSize) => {
    const send = jest.spyOn(light, 'send');
    const mine = await all(light, pageSize);
    expect(send).not.toHaveBeenCalled(); // the light path, not the SDK
    expect(mine).toEqual(await all(sdk, pageSize));
    const keys = mine.flatMap((p) => p.objects.map((o) => o.key));
    expect(new Set(keys)).toEqual(new Set(KEYS));
    expect(mine).toHaveLength(Math.ceil(KEYS.length / pageSize));
    expect(mine.flatMap((p) => p.objects.map((o) => o.size)).sort((a, b) => a - b)).toEqual(KEYS.map((_, i) => i));
    send.mockRestore();
  });

  test('after a start-after key with odd characters', async () => {
    const after = KEYS.find((k) => k.endsWith('/a+b=c&d.jpg'))!;
    const mine = await all(light, 5, after);
    expect(mine).toEqual(await all(sdk, 5, after));
    expect(mine.flatMap((p) => p.objects).length).toBeGreaterThan(0);
    expect(
      mine.flatMap((p) => p.objects).every((o) => Buffer.compare(Buffer.from(o.key), Buffer.from(after)) > 0),
    ).toBe(true);
  });

  test("the delete recheck's listing finds the same keys gone", async () => {
    const keys = [...KEYS, `${prefix}never written.jpg`, `${prefix}zz gone`].sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    const gone = await missingFromLegacy({ client: light, bucket }, prefix, keys);
    expect(gone).toEqual(await missingFromLegacy({ client: sdk, bucket }, prefix, keys));
    expect([...gone].sort()).toEqual([`${prefix}never written.jpg`, `${prefix}zz gone`]);
  });

  test('an empty prefix answers an empty last page', async () => {
    await expect(listObjectsPage(light, { bucket, prefix: `${prefix}nothing here/` })).resolves.toEqual({
      contents: [],
      isTruncated: false,
    });
  });
});
