/**
 * The store's modes side by side, as a rolling deploy runs them (modes.ts): two stores in two modes over the SAME two
 * buckets (in memory, test/helpers/memory-s3.ts), and every sequence of up to three writes and deletes by either of
 * them, each followed by reads through both. A read must return the latest acknowledged write, or nothing after a
 * delete. Adjacent modes pass from every starting state the runbook can leave the buckets in; the pairs a rolling
 * deploy must never make (legacy-only next to dual-read; dual-read next to new-only without tombstones) fail, which
 * shows the check can see the two hazards.
 */
import pino from 'pino';
import { createHash } from 'crypto';
import { ConfigError } from '../../workspaces/errors';
import { readWhole } from '../../migrator/src/codec/read-whole';
import { provenanceMetadata } from '../../migrator/src/objects/provenance';
import { storeConfigFromEnv } from '../../migrator/src/store/config';
import { copyToNew } from '../../migrator/src/store/copy-on-miss';
import { LegacySide } from '../../migrator/src/store/legacy-side';
import { modeRules, STORE_MODES, usesLegacy, usesNew, type StoreMode } from '../../migrator/src/store/modes';
import { NewSide } from '../../migrator/src/store/new-side';
import { PhotoStore } from '../../migrator/src/store/store';
import { identityCodec } from '../helpers/fakes';
import { memoryBucket, type MemoryBucket } from '../helpers/memory-s3';

interface Instance {
  readonly mode: StoreMode;
  readonly tombstones?: boolean;
}
const label = (i: Instance) => (i.tombstones === false ? `${i.mode} (tombstones off)` : i.mode);

/** Where the runbook's order leaves a key when the two modes run side by side. */
type Start = 'absent' | 'legacy' | 'migrated' | 'new';

interface World {
  readonly legacy: MemoryBucket;
  readonly current: MemoryBucket;
}

const silent = pino({ level: 'silent' });

function storeOf(w: World, i: Instance): PhotoStore {
  const newSide = usesNew(i.mode)
    ? new NewSide(w.current.client, 'new', { ServerSideEncryption: 'AES256' })
    : undefined;
  const legacySide = usesLegacy(i.mode)
    ? new LegacySide(w.legacy.client, 'old', identityCodec, 1024 * 1024)
    : undefined;
  return new PhotoStore(i.mode, newSide, legacySide, silent, undefined, 4, { tombstones: i.tombstones ?? true });
}

/** Puts the key where a start state says, as the legacy app and the migrator would have. */
function prepare(w: World, key: string, start: Start, body: Buffer): void {
  const etag = createHash('md5').update(body).digest('hex');
  if (start === 'legacy' || start === 'migrated') w.legacy.objects.set(key, { body, etag, metadata: {} });
  if (start === 'migrated' || start === 'new') {
    const metadata =
      start === 'migrated'
        ? provenanceMetadata(
            {},
            {
              sourceEtag: etag,
              sourceVersionId: 'null',
              plaintextSha256: 'a'.repeat(64),
              plaintextSize: body.length,
              migratedAt: '2026-01-01T00:00:00Z',
            },
          )
        : {};
    w.current.objects.set(key, { body, etag, metadata });
  }
}

type Step = { readonly by: 0 | 1; readonly op: 'put' | 'delete' };

/** Every sequence of 1 to `n` steps. */
function sequences(n: number): Step[][] {
  const one: Step[] = [
    { by: 0, op: 'put' },
    { by: 1, op: 'put' },
    { by: 0, op: 'delete' },
    { by: 1, op: 'delete' },
  ];
  let level: Step[][] = [[]];
  const all: Step[][] = [];
  for (let i = 0; i < n; i++) {
    level = level.flatMap((seq) => one.map((s) => [...seq, s]));
    all.push(...level);
  }
  return all;
}

async function readBoth(stores: PhotoStore[], key: string): Promise<Array<string | undefined>> {
  return Promise.all(
    stores.map(async (s) => {
      const got = await s.get(key);
      const head = await s.head(key);
      const text = got ? (await readWhole(got.body, 1024 * 1024)).toString() : undefined;
      if ((head === undefined) !== (text === undefined))
        return `HEAD and GET disagree (${head ? 'HEAD found it' : 'GET found it'})`;
      return text;
    }),
  );
}

/** Runs every sequence from every start; returns what went wrong, one line each. */
async function sideBySide(
  pair: readonly [Instance, Instance],
  starts: readonly Start[],
  length = 3,
): Promise<string[]> {
  const failures: string[] = [];
  for (const start of starts) {
    for (const seq of sequences(length)) {
      const w: World = { legacy: memoryBucket(), current: memoryBucket() };
      const stores = pair.map((i) => storeOf(w, i));
      const key = 'chats/1/photo.jpg';
      let expected: string | undefined = start === 'absent' ? undefined : 'v0';
      if (start !== 'absent') prepare(w, key, start, Buffer.from('v0'));
      const done: string[] = [];
      for (const [n, step] of seq.entries()) {
        if (step.op === 'put') {
          expected = `v${n + 1}`;
          await stores[step.by].put(key, Buffer.from(expected), { contentType: 'image/jpeg' });
        } else {
          expected = undefined;
          await stores[step.by].delete(key);
        }
        done.push(`${label(pair[step.by])} ${step.op}s`);
        const got = await readBoth(stores, key);
        got.forEach((g, i) => {
          if (g !== expected)
            failures.push(
              `from ${start}: ${done.join(', ')}; then ${label(pair[i])} reads ${g ?? 'nothing'}, not ${expected ?? 'nothing'}`,
            );
        });
        if (got.some((g) => g !== expected)) break;
      }
    }
  }
  return failures;
}

const L: Instance = { mode: 'legacy-only' };
const I: Instance = { mode: 'read-both-write-legacy' };
const D: Instance = { mode: 'dual-read' };
const N: Instance = { mode: 'new-only' };
const NPlain: Instance = { mode: 'new-only', tombstones: false };

describe('adjacent modes side by side: every read returns the latest write, or nothing after a delete', () => {
  test('the release order is the order of STORE_MODES', () => {
    expect(STORE_MODES).toEqual(['legacy-only', 'read-both-write-legacy', 'dual-read', 'new-only']);
  });

  // Before the backfill, the photos are in legacy only (the new bucket holds none of the keys).
  test('legacy-only + read-both-write-legacy', async () => {
    expect(await sideBySide([L, I], ['absent', 'legacy'])).toEqual([]);
  });

  // Before the backfill; dual-read instances write the new bucket.
  test('read-both-write-legacy + dual-read', async () => {
    expect(await sideBySide([I, D], ['absent', 'legacy'])).toEqual([]);
  });

  // After the backfill and the audit: every photo is in new, the legacy copies still there until the teardown.
  test('dual-read + new-only', async () => {
    expect(await sideBySide([D, N], ['absent', 'migrated'])).toEqual([]);
  });

  // After the teardown: no legacy bucket left; turning tombstones off is a rolling change too.
  test('new-only + new-only with tombstones off (after the teardown)', async () => {
    expect(await sideBySide([N, NPlain], ['absent', 'new'])).toEqual([]);
  });
});

describe('the pairs a rolling deploy must never make fail the same check (the hazards of issue 19)', () => {
  test('legacy-only next to dual-read: a photo uploaded through dual-read is missing for legacy-only', async () => {
    const failures = await sideBySide([L, D], ['absent'], 1);
    expect(failures).toContain('from absent: dual-read puts; then legacy-only reads nothing, not v1');
  });

  test('dual-read next to new-only without tombstones: a photo deleted through new-only comes back from legacy', async () => {
    const failures = await sideBySide([D, NPlain], ['migrated'], 1);
    expect(failures).toContain(
      'from migrated: new-only (tombstones off) deletes; then dual-read reads v0, not nothing',
    );
  });

  test('had read-both-write-legacy written legacy only, an overwrite would be hidden by the older copy in new', async () => {
    // A dual-read instance uploads; the same photo is then replaced through read-both-write-legacy.
    const w: World = { legacy: memoryBucket(), current: memoryBucket() };
    const [i, d] = [storeOf(w, I), storeOf(w, D)];
    await d.put('k', Buffer.from('first'));
    await i.put('k', Buffer.from('second'));
    expect(w.legacy.objects.get('k')?.body.toString()).toBe('second');
    expect(w.current.objects.get('k')?.body.toString()).toBe('second'); // without this, both would read "first"
    expect(await readBoth([i, d], 'k')).toEqual(['second', 'second']);
  });

  test('had read-both-write-legacy always tombstoned new, a photo legacy-only writes again would stay hidden', async () => {
    const w: World = { legacy: memoryBucket(), current: memoryBucket() };
    const [l, i] = [storeOf(w, L), storeOf(w, I)];
    await l.put('k', Buffer.from('first'));
    await i.delete('k');
    expect(w.current.objects.size).toBe(0); // nothing of the key in new: no tombstone
    await l.put('k', Buffer.from('again'));
    expect(await readBoth([l, i], 'k')).toEqual(['again', 'again']);
  });
});

describe('the rules', () => {
  test('each mode, op by op', () => {
    expect(Object.fromEntries(STORE_MODES.map((m) => [m, modeRules(m)]))).toEqual({
      'legacy-only': { read: 'legacy', write: 'legacy', delete: 'legacy' },
      'read-both-write-legacy': {
        read: 'new-then-legacy',
        write: 'legacy+new-where-present',
        delete: 'legacy+tombstone-where-present',
      },
      'dual-read': { read: 'new-then-legacy', write: 'new', delete: 'legacy+tombstone' },
      'new-only': { read: 'new', write: 'new', delete: 'tombstone' },
    });
    expect(modeRules('new-only', { tombstones: false }).delete).toBe('plain');
  });

  test('read-both-write-legacy: a write goes to new as well over a tombstone, and the result names the copy readers find', async () => {
    const w: World = { legacy: memoryBucket(), current: memoryBucket() };
    const [i, d] = [storeOf(w, I), storeOf(w, D)];
    prepare(w, 'k', 'legacy', Buffer.from('v0'));
    await d.delete('k'); // legacy gone, a tombstone in new
    const put = await i.put('k', Buffer.from('back'));
    expect(put.etag).toBe(`"${w.current.objects.get('k')!.etag}"`);
    expect([w.legacy.objects.get('k')?.body.toString(), w.current.objects.get('k')?.body.toString()]).toEqual([
      'back',
      'back',
    ]);
    // A key new does not hold is written to legacy only, and its result is legacy's.
    const only = await i.put('j', Buffer.from('legacy'));
    expect([only.etag, w.current.objects.has('j')]).toEqual([`"${w.legacy.objects.get('j')!.etag}"`, false]);
  });

  test('new-only deletes leave the legacy copy and a tombstone; a dual-read instance reads "deleted", never falls back', async () => {
    const w: World = { legacy: memoryBucket(), current: memoryBucket() };
    const [d, n] = [storeOf(w, D), storeOf(w, N)];
    prepare(w, 'k', 'migrated', Buffer.from('v0'));
    await n.delete('k');
    expect(w.legacy.objects.has('k')).toBe(true);
    expect(w.current.objects.get('k')).toMatchObject({ body: Buffer.alloc(0), tagging: 'bucketmove=tombstone' });
    expect(await d.get('k')).toBeUndefined();
    expect(d.counts()).toMatchObject({ fallbackHits: 0, fallbackMisses: 1 });
  });

  test('read-both-write-legacy counts and logs its fallbacks as dual-read does; legacy-only reads are no fallbacks', async () => {
    const w: World = { legacy: memoryBucket(), current: memoryBucket() };
    prepare(w, 'k', 'legacy', Buffer.from('v0'));
    const [l, i] = [storeOf(w, L), storeOf(w, I)];
    expect(await readBoth([l, i], 'k')).toEqual(['v0', 'v0']);
    expect(l.counts()).toMatchObject({ reads: { legacy: 2 }, fallbackHits: 0 });
    expect(i.counts()).toMatchObject({ reads: { legacy: 2 }, fallbackHits: 2 });
    expect(await i.get('nowhere')).toBeUndefined();
    expect(i.counts()).toMatchObject({ fallbackMisses: 1, notFound: 1 });
  });

  test('a store must be given exactly the sides its mode uses', () => {
    const w: World = { legacy: memoryBucket(), current: memoryBucket() };
    expect(
      () =>
        new PhotoStore(
          'read-both-write-legacy',
          new NewSide(w.current.client, 'new', { ServerSideEncryption: 'AES256' }),
          undefined,
          silent,
          undefined,
          4,
        ),
    ).toThrow('PhotoStore: give mode read-both-write-legacy exactly the sides it uses');
  });
});

describe('configuration', () => {
  const env = (mode: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PHOTO_STORE_MODE: mode,
    AWS_REGION: 'eu-west-1',
    PHOTO_STORE_BUCKET: 'new-photos',
    PHOTO_STORE_LEGACY_BUCKET: 'old-photos',
    AWS_ACCESS_KEY_ID: 'AKIDNEW',
    AWS_SECRET_ACCESS_KEY: 'new-secret',
    LEGACY_AWS_ACCESS_KEY_ID: 'AKIDOLD',
    LEGACY_AWS_SECRET_ACCESS_KEY: 'old-secret',
    ...extra,
  });

  test('read-both-write-legacy uses both buckets and their keys', () => {
    const c = storeConfigFromEnv(env('read-both-write-legacy'));
    expect([c.mode, c.primary?.bucket, c.legacy?.bucket]).toEqual([
      'read-both-write-legacy',
      'new-photos',
      'old-photos',
    ]);
    expect(() => storeConfigFromEnv(env('read-both-write-legacy', { PHOTO_STORE_LEGACY_BUCKET: '' }))).toThrow(
      'PHOTO_STORE_LEGACY_BUCKET is not set: name the legacy bucket (mode read-both-write-legacy uses it)',
    );
    expect(() => storeConfigFromEnv(env('read-both-write-legacy', { PHOTO_STORE_COPY_ON_MISS: 'true' }))).toThrow(
      /works only in dual-read mode/,
    );
  });

  test('an unknown mode names the four', () => {
    expect(() => storeConfigFromEnv(env('dual'))).toThrow(
      new ConfigError(
        'PHOTO_STORE_MODE must be one of legacy-only, read-both-write-legacy, dual-read, new-only (got "dual")',
      ),
    );
  });

  test('PHOTO_STORE_TOMBSTONES: true by default; false only in new-only; nothing else', () => {
    expect(storeConfigFromEnv(env('new-only')).tombstones).toBe(true);
    expect(storeConfigFromEnv(env('new-only', { PHOTO_STORE_TOMBSTONES: 'false' })).tombstones).toBe(false);
    expect(() => storeConfigFromEnv(env('dual-read', { PHOTO_STORE_TOMBSTONES: 'false' }))).toThrow(
      new ConfigError(
        'PHOTO_STORE_TOMBSTONES=false works only in new-only mode (the mode is dual-read, whose deletes need tombstones in the new bucket)',
      ),
    );
    expect(() => storeConfigFromEnv(env('new-only', { PHOTO_STORE_TOMBSTONES: 'no' }))).toThrow(
      new ConfigError('PHOTO_STORE_TOMBSTONES must be true or false (got "no")'),
    );
  });
});

describe('copy-on-miss rechecks the legacy object after its copy', () => {
  const legacyObject = { size: 2, etag: 'aaa', versionId: 'null', metadata: {} };
  const run = async (etagAfter: string | undefined) => {
    const current = memoryBucket();
    const target = {
      client: current.client,
      bucket: 'new',
      sse: { ServerSideEncryption: 'AES256' as const },
      partSize: 5 * 1024 * 1024,
      queueSize: 1,
    };
    const outcome = await copyToNew(
      { target, legacyEtag: async () => etagAfter },
      'k',
      legacyObject,
      Buffer.from('v1'),
    );
    return { outcome, kept: current.objects.has('k') };
  };

  test('unchanged: the copy stays', async () => {
    expect(await run('"aaa"')).toEqual({ outcome: 'written', kept: true });
  });

  test('deleted meanwhile: the copy is undone', async () => {
    expect(await run(undefined)).toEqual({ outcome: 'undone', kept: false });
  });

  test('rewritten meanwhile (another ETag): the copy of the older version is undone, so it cannot hide the write', async () => {
    expect(await run('"bbb"')).toEqual({ outcome: 'undone', kept: false });
  });
});
