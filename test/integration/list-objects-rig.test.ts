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

const NAMES = [
  'holiday photo 1.jpg',
  'a+b=c&d.jpg',
  '100% real.jpg',
  'escaped%2Fslash%20and%41.jpg',
  'caf\u00e9.jpg',
  'cafe\u0301.jpg',
  '\u65e5\u672c\u8a9e\u306e\u5199\u771f \u{1F4F7}.jpg',
  `quote's "and" <angle> {brace} [bracket].jpg`,
  'question?hash#semi;colon:comma,.jpg',
  '~tilde*star!bang(paren)$dollar@at.jpg',
  'd01/d02/d03/photo.jpg',
  'double//slash.jpg',
  ' leading-space.jpg',
  'trailing-space.jpg ',
  'control\u0001char\u001f.jpg',
  'tab\tand\rreturn.jpg',
  'folder-marker/',
];

describe('the light ListObjectsV2 lists what the SDK lists', () => {
  const prefix = `${uniqueKey('list-rig')}/a+b %/`;
  const light = client(true);
  const sdk = client(false);
  const bucket = rigState().buckets.legacy;

  beforeAll(async () => {
    for (const [i, name] of NAMES.entries()) await putLegacy(`${prefix}${name}`, Buffer.alloc(i));
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
    expect(new Set(keys)).toEqual(new Set(NAMES.map((n) => `${prefix}${n}`)));
    expect(mine).toHaveLength(Math.ceil(NAMES.length / pageSize));
    expect(mine.flatMap((p) => p.objects.map((o) => o.size)).sort((a, b) => a - b)).toEqual(NAMES.map((_, i) => i));
    send.mockRestore();
  });

  test('after a start-after key with odd characters', async () => {
    const after = `${prefix}a+b=c&d.jpg`;
    const mine = await all(light, 5, after);
    expect(mine).toEqual(await all(sdk, 5, after));
    expect(mine.flatMap((p) => p.objects).length).toBeGreaterThan(0);
    expect(
      mine.flatMap((p) => p.objects).every((o) => Buffer.compare(Buffer.from(o.key), Buffer.from(after)) > 0),
    ).toBe(true);
  });

  test("the delete recheck's listing finds the same keys gone", async () => {
    const keys = [...NAMES.map((n) => `${prefix}${n}`), `${prefix}never written.jpg`, `${prefix}zz gone`].sort((a, b) =>
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
