/** The seeder's plan, without a server: sizes, key layout, odd keys, determinism. */
import { planObjects, MAX_KEY_BYTES } from '../../migrator/src/seed/plan';
import { contentBytes, SeededRandom } from '../../migrator/src/seed/random';
import { photoBytes } from '../../migrator/src/seed/seeder';
import { drawSize, NAMED_SIZES, parseBytes, parseSizeSpec } from '../../migrator/src/seed/sizes';
import { formatBytes, KIB, MIB } from '../../workspaces/units';

describe('--size', () => {
  test.each([
    ['64KiB', 64 * KIB],
    ['1.5MiB', 1.5 * MIB],
    ['300kb', 300_000],
    ['0', 0],
    ['7', 7],
    ['2GiB', 2 * 1024 * MIB],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
    expect(parseSizeSpec(text)).toMatchObject({ kind: 'fixed', bytes });
  });

  test('ranges and named distributions', () => {
    expect(parseSizeSpec('10KiB-2MiB')).toEqual({
      kind: 'mix',
      label: '10 KiB-2 MiB',
      bands: [{ weight: 1, min: 10 * KIB, max: 2 * MIB }],
    });
    expect(parseSizeSpec('Photos')).toBe(NAMED_SIZES.photos);
  });

  test.each([
    ['12parsecs', /^--size "12parsecs" is not a size: give bytes with a unit/],
    ['5MiB-1MiB', /^--size 5MiB-1MiB: the lower bound is above the upper one$/],
    ['3GiB', /^--size 3GiB: at most 2 GiB per object$/],
    ['-1', /is not a size/],
  ])('refuses %s with one line', (text, message) => {
    expect(() => parseSizeSpec(text)).toThrow(message);
  });

  test('photos: mostly 50 KiB-5 MiB, a few large, none outside 50 KiB-40 MiB', () => {
    const rng = new SeededRandom('dist');
    const sizes = Array.from({ length: 20_000 }, () => drawSize(NAMED_SIZES.photos, rng));
    const large = sizes.filter((s) => s > 5 * MIB).length / sizes.length;
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(50 * KIB);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(40 * MIB);
    expect(large).toBeGreaterThan(0.02);
    expect(large).toBeLessThan(0.04);
    // Log-uniform over 50 KiB-5 MiB: the median sits near the geometric mean (about 500 KiB).
    const median = [...sizes].sort((a, b) => a - b)[sizes.length / 2];
    expect(median).toBeGreaterThan(350 * KIB);
    expect(median).toBeLessThan(750 * KIB);
  });

  test('formatBytes', () => {
    expect([0, 1023, 64 * KIB, 1.5 * MIB, 2 * 1024 * MIB].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '64 KiB',
      '1.5 MiB',
      '2 GiB',
    ]);
  });
});

describe('the plan', () => {
  const base = { count: 50, size: NAMED_SIZES.photos, oddKeys: true, seed: 's1', prefix: 'chats/' };

  test('keys like the legacy app wrote them, with image/jpeg and metadata', () => {
    const plan = planObjects({ ...base, oddKeys: false });
    expect(plan).toHaveLength(50);
    for (const o of plan) {
      expect(o.key).toMatch(
        /^chats\/\d{5}\/photos\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jpg$/,
      );
      expect(o.contentType).toBe('image/jpeg');
      expect(Object.keys(o.metadata).sort()).toEqual(['chat-id', 'original-name', 'uploaded-at', 'uploaded-by']);
      expect(o.key.startsWith(`chats/${o.metadata['chat-id']}/`)).toBe(true);
      expect(o.encrypted).toBe(true);
    }
    expect(new Set(plan.map((o) => o.metadata['chat-id'])).size).toBeGreaterThan(1);
  });

  test('odd keys come on top: distinct, at most 1024 bytes, one of exactly 1024, empty objects', () => {
    const plan = planObjects(base);
    const odd = plan.filter((o) => o.odd);
    expect(plan).toHaveLength(50 + odd.length);
    expect(new Set(plan.map((o) => o.key)).size).toBe(plan.length);
    expect(Math.max(...plan.map((o) => Buffer.byteLength(o.key)))).toBe(MAX_KEY_BYTES);
    const names = odd.map((o) => o.key.slice('chats/odd-keys/photos/'.length));
    expect(names).toEqual(
      expect.arrayContaining([
        'holiday photo 1.jpg',
        'a+b=c&d.jpg',
        '100% real.jpg',
        'caf\u00e9.jpg',
        'cafe\u0301.jpg',
        'double//slash.jpg',
        'trailing-space.jpg ',
      ]),
    );
    expect(odd.find((o) => o.key.endsWith('empty.jpg'))).toMatchObject({ size: 0, encrypted: true });
    expect(odd.find((o) => o.key.endsWith('folder-marker/'))).toMatchObject({ size: 0, encrypted: false });
    expect(odd.some((o) => o.key.split('/').length > 25)).toBe(true);
  });

  test('a prefix that makes any key longer than 1024 bytes is refused with one line', () => {
    expect(() => planObjects({ ...base, count: 1, oddKeys: false, prefix: `${'p'.repeat(980)}/` })).toThrow(
      /^--prefix is too long: it makes a key of 1034 bytes, and S3 allows 1024$/,
    );
    // With odd keys the deep and the longest keys need room too.
    expect(() => planObjects({ ...base, count: 1, prefix: `${'p'.repeat(950)}/` })).toThrow(/^--prefix is too long/);
    expect(
      planObjects({ ...base, count: 1, prefix: `${'p'.repeat(800)}/` }).every(
        (o) => Buffer.byteLength(o.key) <= MAX_KEY_BYTES,
      ),
    ).toBe(true);
  });

  test('deterministic: the same seed gives the same plan and bytes; another seed does not', () => {
    expect(planObjects(base)).toEqual(planObjects(base));
    expect(planObjects({ ...base, seed: 's2' })[0].key).not.toBe(planObjects(base)[0].key);
    expect(contentBytes('s1', 3, 1000)).toEqual(contentBytes('s1', 3, 1000));
    expect(contentBytes('s1', 3, 1000)).not.toEqual(contentBytes('s1', 4, 1000));
  });

  test('photos are framed as JPEGs; the folder marker is empty', () => {
    const plan = planObjects(base);
    const photo = photoBytes('s1', plan[0]);
    expect(photo.length).toBe(plan[0].size);
    expect([...photo.subarray(0, 4)]).toEqual([0xff, 0xd8, 0xff, 0xe0]);
    expect([...photo.subarray(-2)]).toEqual([0xff, 0xd9]);
    expect(
      photoBytes(
        's1',
        plan.find((o) => !o.encrypted)!,
      ).length,
    ).toBe(0);
  });
});

describe('SeededRandom', () => {
  test('uniform enough, and in range', () => {
    const rng = new SeededRandom('u');
    const xs = Array.from({ length: 10_000 }, () => rng.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    const ints = Array.from({ length: 1000 }, () => rng.int(3, 5));
    expect(new Set(ints)).toEqual(new Set([3, 4, 5]));
  });
});
