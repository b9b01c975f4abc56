/** The audit's ordering, merge, digest, findings collector and sampler: pure parts, no S3. */
import { compareKeys } from '../../migrator/src/audit/key-order';
import { inKeyOrder, ListingOrderError } from '../../migrator/src/audit/list-objects';
import { digestListing, ListingDigest } from '../../migrator/src/audit/listing-digest';
import { mergeListings } from '../../migrator/src/audit/merge-listings';
import { FindingCollector } from '../../migrator/src/audit/findings';
import { Reservoir, seededRandom } from '../../migrator/src/audit/sample';
import type { ListedObject, ObjectRow } from '../../migrator/src/objects/records';

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const sign = (n: number) => Math.sign(n);

describe('compareKeys: UTF-8 byte order', () => {
  test('differs from JavaScript string order where S3 and JS disagree, and agrees with the bytes', () => {
    const emoji = '\u{1F600}';
    const fullwidth = '\uFF01';
    expect(emoji < fullwidth).toBe(true); // JS: the surrogate 0xD83D sorts first
    expect(utf8Order(emoji, fullwidth)).toBeGreaterThan(0); // UTF-8: F0.. after EF..
    expect(compareKeys(emoji, fullwidth)).toBeGreaterThan(0);
    expect(compareKeys('a', 'a')).toBe(0);
    expect(compareKeys('a', 'ab')).toBeLessThan(0);
    expect(compareKeys('photos/', 'photos')).toBeGreaterThan(0);
  });

  test('agrees with Buffer.compare on 20,000 pairs of random keys drawn from every plane', () => {
    const rnd = seededRandom('key-order');
    const pool = [
      0x20, 0x2f, 0x41, 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0x4e2d, 0xd7ff, 0xe000, 0xfb01, 0xfffd, 0xffff, 0x10000,
      0x1f600, 0x10ffff,
    ];
    const char = () => {
      const base = pool[Math.floor(rnd() * pool.length)];
      return String.fromCodePoint(
        Math.min(0x10ffff, base + (base >= 0xd7ff && base < 0xe000 ? 0 : Math.floor(rnd() * 3))),
      );
    };
    const key = () => Array.from({ length: 1 + Math.floor(rnd() * 5) }, char).join('');
    for (let i = 0; i < 20_000; i++) {
      const a = key();
      const b = rnd() < 0.2 ? a + key() : key();
      expect([a, b, sign(compareKeys(a, b))]).toEqual([a, b, sign(utf8Order(a, b))]);
    }
  });
});

const obj = (key: string, size = 1, etag = `e-${key}`): ListedObject => ({ key, size, etag });
const row = (key: string, state: ObjectRow['state'] = 'copied'): ObjectRow =>
  ({
    key,
    size: 1,
    etag: `e-${key}`,
    state,
    attempts: 1,
    versionId: null,
    errorCode: null,
    errorMessage: null,
    httpStatus: null,
    plaintextSha256: null,
    plaintextSize: null,
    newVersionId: null,
    updatedAt: null,
  }) as ObjectRow;

async function* slowly<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) {
    await new Promise((r) => setImmediate(r));
    yield i;
  }
}

describe('mergeListings', () => {
  test('walks three sorted streams together, one key at a time, in byte order', async () => {
    const legacy = ['a', 'b', 'd', 'x\uFF01', 'x\u{1F600}'];
    const current = ['b', 'c', 'd', 'x\u{1F600}'];
    const cp = ['a', 'd', 'e', 'x\uFF01', 'x\u{1F600}'];
    const out = [];
    for await (const m of mergeListings({
      legacy: slowly(legacy.map((k) => obj(k))),
      current: current.map((k) => obj(k)),
      checkpoint: cp.map((k) => row(k)),
    })) {
      out.push([m.key, Boolean(m.legacy), Boolean(m.current), Boolean(m.checkpoint)]);
    }
    expect(out).toEqual([
      ['a', true, false, true],
      ['b', true, true, false],
      ['c', false, true, false],
      ['d', true, true, true],
      ['e', false, false, true],
      ['x\uFF01', true, false, true],
      ['x\u{1F600}', true, true, true],
    ]);
  });

  test('holds one item per stream: 100,000 keys through it without buffering them', async () => {
    let pulled = 0;
    async function* many(): AsyncGenerator<ListedObject> {
      for (let i = 0; i < 100_000; i++) {
        pulled++;
        yield obj(`k/${String(i).padStart(6, '0')}`);
      }
    }
    let seen = 0;
    for await (const m of mergeListings({ legacy: many(), current: [], checkpoint: [] })) {
      seen++;
      expect(pulled - seen).toBeLessThanOrEqual(1);
      if (!m.legacy) throw new Error('lost an item');
    }
    expect(seen).toBe(100_000);
  });

  test('an out-of-order listing stops the audit instead of comparing wrongly', async () => {
    const run = async () => {
      for await (const _ of inKeyOrder(slowly([obj('a'), obj('x\u{1F600}'), obj('x\uFF01')]), 'bucket b')) void _;
    };
    await expect(run()).rejects.toThrow(ListingOrderError);
    await expect(run()).rejects.toThrow(
      /the listing of bucket b is not in UTF-8 byte order \("x！" came after "x😀"\)/,
    );
  });
});

describe('the listing digest', () => {
  test('is SHA-256 over JSON lines [key, bare etag, size], so odd keys cannot collide', async () => {
    const d = new ListingDigest();
    d.add({ key: 'a\n"b', etag: '"abc"', size: 3 });
    const { createHash } = await import('crypto');
    expect(d.digest()).toBe(`sha256:${createHash('sha256').update('["a\\n\\"b","abc",3]\n').digest('hex')}`);
    const one = await digestListing(
      slowly([
        { key: 'a', etag: 'x', size: 1 },
        { key: 'b', etag: 'y', size: 2 },
      ]),
    );
    const other = await digestListing(
      slowly([
        { key: 'a', etag: 'x', size: 1 },
        { key: 'b', etag: 'y', size: 3 },
      ]),
    );
    const joined = await digestListing(slowly([{ key: 'a', etag: 'x", 1]\n["b', size: 1 }]));
    expect(one).toMatchObject({ objects: 2, bytes: 3 });
    expect(new Set([one.digest, other.digest, joined.digest]).size).toBe(3);
  });
});

describe('FindingCollector', () => {
  test('counts every key by kind, once per key, but lists only the first keys up to the cap', () => {
    const c = new FindingCollector(3);
    for (let i = 99; i >= 0; i--) {
      const key = `k${String(i).padStart(2, '0')}`;
      c.addKey([
        { key, kind: 'missing', message: 'not in the new bucket' },
        { key, kind: 'missing', message: 'again' },
      ]);
    }
    c.addKey([{ key: 'zz', kind: 'app-version', message: 'kept' }]);
    expect(c.counts.missing).toBe(100);
    expect(c.problemKeys).toBe(100);
    expect(c.problems).toBe(100);
    const listed = c.listed();
    expect(listed.problems.map((f) => [f.key, f.message])).toEqual([
      ['k00', 'again'],
      ['k00', 'not in the new bucket'],
      ['k01', 'again'],
    ]);
    expect(listed.notices).toEqual([{ key: 'zz', kind: 'app-version', message: 'kept' }]);
  });
});

describe('Reservoir', () => {
  test('keeps N of a stream, the same N for the same seed, each item about equally often', () => {
    const draw = (seed: string) => {
      const r = new Reservoir<number>(10, seed);
      for (let i = 0; i < 1000; i++) r.offer(i);
      return r.sample();
    };
    expect(draw('s')).toEqual(draw('s'));
    expect(draw('s')).not.toEqual(draw('t'));
    expect(new Set(draw('s')).size).toBe(10);
    const hits = new Array(100).fill(0);
    for (let s = 0; s < 2000; s++) {
      const r = new Reservoir<number>(10, `seed-${s}`);
      for (let i = 0; i < 100; i++) r.offer(i);
      for (const x of r.sample()) hits[x]++;
    }
    // Each of 100 items is kept with probability 1/10: about 200 times in 2000 draws.
    expect(Math.min(...hits)).toBeGreaterThan(140);
    expect(Math.max(...hits)).toBeLessThan(260);
  });

  test('a stream shorter than N is kept whole', () => {
    const r = new Reservoir<string>(5, 'x');
    ['a', 'b'].forEach((x) => r.offer(x));
    expect(r.sample()).toEqual(['a', 'b']);
    expect(r.offered).toBe(2);
  });
});
