import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import { CodecError } from '../../migrator/src/codec/codec';
import {
  FernetCodec,
  fernetDecrypt,
  fernetEncrypt,
  fernetEncryptStream,
  parseFernetKeys,
  toBase64UrlPadded,
  type FernetStorage,
} from '../../migrator/src/codec/fernet';
import { ConfigError } from '../../workspaces/errors';
import { chunked, collect, collectFailure } from '../helpers/streams';

// The spec's own vectors, copied into the repository (test/fixtures/fernet-spec/SOURCE.md).
const VECTORS = path.resolve(__dirname, '../fixtures/fernet-spec');
interface Vector {
  token: string;
  now: string;
  secret: string;
  src?: string;
  iv?: number[];
  ttl_sec?: number;
  desc?: string;
}
const load = (name: string): Vector[] => JSON.parse(fs.readFileSync(path.join(VECTORS, name), 'utf8')) as Vector[];
const unix = (iso: string): number => Math.floor(Date.parse(iso) / 1000);
const b64urlToken = (token: string): Buffer => Buffer.from(token, 'base64url');

const KEY_A = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const KEY_B = Buffer.alloc(32, 7).toString('base64url');
const MAX = 1024 * 1024;
const text = (keys: string[], maxObjectBytes = MAX) =>
  new FernetCodec(keys, { storage: 'base64url-text', maxObjectBytes });
const codecOf = (storage: FernetStorage, keys = [KEY_A]) => new FernetCodec(keys, { storage, maxObjectBytes: MAX });
const STORAGES: FernetStorage[] = ['auto', 'base64url-text', 'raw'];
/** The stored forms a setting reads: "auto" reads both. */
const FORMS: Array<[FernetStorage, 'text' | 'raw']> = [
  ['auto', 'text'],
  ['auto', 'raw'],
  ['base64url-text', 'text'],
  ['raw', 'raw'],
];
const token = (plain: Buffer, keys = [KEY_A]) => fernetEncrypt(parseFernetKeys(keys)[0], plain);
const stored = (form: 'text' | 'raw', raw: Buffer) => (form === 'raw' ? raw : Buffer.from(toBase64UrlPadded(raw)));
/** A stream of `data` cut at the given offsets. */
const cutAt = (data: Buffer, ...at: number[]) =>
  Readable.from(
    [0, ...at].map((from, i) => data.subarray(from, [...at, data.length][i])).filter((b) => b.length),
    { objectMode: false },
  );

describe('Fernet spec vectors', () => {
  test.each(load('generate.json'))('generate: $src', (v) => {
    const token = fernetEncrypt(parseFernetKeys([v.secret])[0], Buffer.from(v.src!), {
      iv: Buffer.from(v.iv!),
      timestamp: unix(v.now),
    });
    expect(token.toString('base64url')).toBe(v.token.replace(/=+$/, ''));
  });

  test.each(load('verify.json'))('verify: $src', (v) => {
    const out = fernetDecrypt(parseFernetKeys([v.secret]), b64urlToken(v.token), {
      ttlSeconds: v.ttl_sec,
      now: unix(v.now),
    });
    expect(out.toString()).toBe(v.src);
  });

  test.each(load('verify.json'))('verify, streamed one byte at a time under every setting: $src', async (v) => {
    for (const [storage, form] of FORMS) {
      const codec = new FernetCodec([v.secret], {
        storage,
        maxObjectBytes: MAX,
        ttlSeconds: v.ttl_sec,
        now: () => unix(v.now),
      });
      const bytes = stored(form, b64urlToken(v.token));
      const { data, ended } = await collect(codec.decrypt(chunked(bytes, 1), { key: 'k', size: bytes.length }));
      expect([data.toString(), ended]).toEqual([v.src, true]);
    }
  });

  test.each(['auto', 'base64url-text'] as const)(
    'the invalid vectors fail for the reason they name (storage %s)',
    async (storage) => {
      const kinds: Record<string, string> = {};
      for (const v of load('invalid.json')) {
        const codec = new FernetCodec([v.secret], {
          storage,
          maxObjectBytes: MAX,
          ttlSeconds: v.ttl_sec,
          now: () => unix(v.now),
        });
        const { error, ended } = await collectFailure(
          codec.decrypt(Readable.from([Buffer.from(v.token)]), { key: 'k' }),
        );
        expect(error).toBeInstanceOf(CodecError);
        expect(ended).toBe(false);
        kinds[v.desc!] = (error as CodecError).kind;
      }
      expect(kinds).toEqual({
        'incorrect mac': 'auth',
        'too short': 'truncated',
        'invalid base64': 'format',
        'payload size not multiple of block size': expect.stringMatching(/^(truncated|format)$/),
        'payload padding error': 'format',
        'far-future TS (unacceptable clock skew)': 'auth',
        'expired TTL': 'auth',
        'incorrect IV (causes padding error)': 'format',
      });
    },
  );
});

describe('FernetCodec: streaming, every stored form', () => {
  test.each(FORMS)('round trip, storage %s reading %s tokens', async (storage, form) => {
    const plain = Buffer.from('a photo of a rash \u{1F4F7}');
    const bytes = stored(form, token(plain));
    const { data, ended } = await collect(
      codecOf(storage).decrypt(chunked(bytes, 7), { key: 'k', size: bytes.length }),
    );
    expect(ended).toBe(true);
    expect(data.equals(plain)).toBe(true);
  });

  test('encrypt writes the form its setting names (text for "auto", as Python does)', () => {
    const plain = Buffer.from('x');
    expect(codecOf('auto').encrypt(plain).toString()).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
    expect(codecOf('base64url-text').encrypt(plain).toString()).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
    expect(codecOf('raw').encrypt(plain)[0]).toBe(0x80);
  });

  test.each(FORMS)(
    'every split point of small tokens, and 1-byte chunks (storage %s, %s tokens)',
    async (storage, form) => {
      const codec = codecOf(storage);
      for (const n of [0, 1, 15, 16, 17, 47]) {
        const plain = randomBytes(n);
        const bytes = stored(form, token(plain));
        for (let at = 1; at < bytes.length; at++) {
          const { data, ended } = await collect(codec.decrypt(cutAt(bytes, at), { key: 'k', size: bytes.length }));
          expect([data.equals(plain), ended, at]).toEqual([true, true, at]);
        }
        const { data } = await collect(codec.decrypt(chunked(bytes, 1), { key: 'k' }));
        expect(data.equals(plain)).toBe(true);
      }
    },
  );

  test.each(FORMS)('every pair of split points of a one-byte token (storage %s, %s tokens)', async (storage, form) => {
    const codec = codecOf(storage);
    const bytes = stored(form, token(Buffer.from('z')));
    for (let i = 1; i < bytes.length - 1; i++) {
      for (let j = i + 1; j < bytes.length; j++) {
        const { data } = await collect(codec.decrypt(cutAt(bytes, i, j), { key: 'k' }));
        if (data.toString() !== 'z') throw new Error(`split at ${i} and ${j} gave ${data.toString('hex')}`);
      }
    }
  });

  test.each(['auto', 'base64url-text'] as const)(
    'text with whitespace: a trailing newline, CRLF, leading spaces, line-wrapped (storage %s)',
    async (storage) => {
      const plain = randomBytes(200);
      const text = toBase64UrlPadded(token(plain));
      const wrapped = text.replace(/.{76}/g, '$&\n');
      for (const variant of [
        `${text}\n`,
        `${text}\r\n`,
        `  ${text}`,
        `\n${text}\n`,
        wrapped,
        text.replace(/=+$/, ''),
      ]) {
        const { data, ended } = await collect(codecOf(storage).decrypt(chunked(Buffer.from(variant), 5), { key: 'k' }));
        expect([data.equals(plain), ended]).toEqual([true, true]);
      }
    },
  );

  test('auto decides per object; a strict setting refuses the other form as "format", saying which setting reads it', async () => {
    const plain = Buffer.from('mixed bucket');
    const raw = token(plain);
    const text = Buffer.from(toBase64UrlPadded(raw));
    const auto = codecOf('auto');
    for (const bytes of [raw, text])
      expect((await collect(auto.decrypt(Readable.from([bytes]), { key: 'k' }))).data.equals(plain)).toBe(true);
    const asText = await collectFailure(codecOf('base64url-text').decrypt(Readable.from([raw]), { key: 'k' }));
    expect(asText.error).toMatchObject({ kind: 'format', message: expect.stringContaining('"auto" or "raw"') });
    const asRaw = await collectFailure(codecOf('raw').decrypt(Readable.from([text]), { key: 'k' }));
    expect(asRaw.error).toMatchObject({
      kind: 'format',
      message: expect.stringContaining('"auto" or "base64url-text"'),
    });
  });

  test.each(FORMS)(
    'a flipped byte anywhere after the version is "auth", and the stream never ends (storage %s, %s tokens)',
    async (storage, form) => {
      const raw = token(randomBytes(100));
      for (let at = 1; at < raw.length; at++) {
        const bad = Buffer.from(raw);
        bad[at] ^= 0x01;
        const { error, ended } = await collectFailure(
          codecOf(storage).decrypt(chunked(stored(form, bad), 7), { key: 'k' }),
        );
        expect([(error as CodecError).kind, ended, at]).toEqual(['auth', false, at]);
      }
      const badVersion = Buffer.from(raw);
      badVersion[0] = 0x81;
      const { error } = await collectFailure(
        codecOf(storage).decrypt(Readable.from([stored(form, badVersion)]), { key: 'k' }),
      );
      expect(error).toMatchObject({ kind: 'format' });
    },
  );

  test('a large tampered token streams plaintext, then fails before its end', async () => {
    const raw = token(randomBytes(3 * 1024 * 1024));
    raw[1000] ^= 0x01;
    for (const storage of STORAGES) {
      const form = storage === 'raw' ? 'raw' : 'text';
      const { error, ended, bytes } = await collectFailure(
        codecOf(storage).decrypt(chunked(stored(form, raw), 65536), { key: 'k' }),
      );
      expect(error).toMatchObject({ kind: 'auth' });
      expect(ended).toBe(false);
      expect(bytes).toBeGreaterThan(1024 * 1024); // streamed: it did not hold the token back
    }
  });

  test.each(FORMS)(
    'truncated at every length: "truncated" where the length proves it, never "format" (storage %s, %s tokens)',
    async (storage, form) => {
      const raw = token(randomBytes(100));
      const full = stored(form, raw);
      for (let n = 0; n < full.length; n++) {
        const cut = full.subarray(0, n);
        // With the size S3 gave, a cut stream is always "truncated".
        const sized = await collectFailure(codecOf(storage).decrypt(chunked(cut, 9), { key: 'k', size: full.length }));
        expect([(sized.error as CodecError).kind, sized.ended, n]).toEqual(['truncated', false, n]);
        // Without it, an object stored cut short: "truncated" unless it is whole blocks long (then it reads as
        // tampered). (A text token cut only of its "=" padding is whole: unpadded text is read, as the codec always
        // did.)
        if (form === 'text' && n >= full.toString().replace(/=+$/, '').length) continue;
        const alone = await collectFailure(codecOf(storage).decrypt(chunked(cut, 9), { key: 'k' }));
        const rawLength = form === 'raw' ? n : Math.floor((n * 3) / 4);
        const blockAligned =
          form === 'raw'
            ? n >= 73 && (n - 57) % 16 === 0
            : n % 4 !== 1 && rawLength >= 73 && (rawLength - 57) % 16 === 0;
        expect([(alone.error as CodecError).kind, alone.ended, n]).toEqual([
          blockAligned ? 'auth' : 'truncated',
          false,
          n,
        ]);
      }
    },
  );

  test.each(STORAGES)('empty and foreign objects (storage %s)', async (storage) => {
    const empty = await collectFailure(
      codecOf(storage).decrypt(Readable.from([], { objectMode: false }), { key: 'k' }),
    );
    expect(empty.error).toMatchObject({ kind: 'truncated' });
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    for (const foreign of [jpeg, png, Buffer.from('good morning, this is not a token')]) {
      const { error } = await collectFailure(codecOf(storage).decrypt(Readable.from([foreign]), { key: 'k' }));
      expect(error).toMatchObject({ kind: 'format' });
    }
  });

  test('the wrong key is an auth failure whose message holds no key material', async () => {
    const t = text([KEY_A]).encrypt(Buffer.from('secret photo'));
    const { error } = await collectFailure(text([KEY_B]).decrypt(Readable.from([t]), { key: 'k' }));
    expect(error).toMatchObject({ kind: 'auth' });
    const msg = (error as Error).message;
    for (const k of [KEY_A, KEY_B]) {
      expect(msg).not.toContain(k);
      expect(msg).not.toContain(k.slice(0, 12));
    }
  });

  test('fernetEncryptStream writes the same token as fernetEncrypt, in both forms, at any chunking', async () => {
    const key = parseFernetKeys([KEY_A])[0];
    const plain = randomBytes(100_003);
    const parts = { iv: Buffer.alloc(16, 3), timestamp: 1_700_000_000 };
    const whole = fernetEncrypt(key, plain, parts);
    for (const chunk of [1, 7, 4096, 200_000]) {
      const raw = await collect(chunked(plain, chunk).pipe(fernetEncryptStream(key, 'raw', parts)));
      expect(raw.data.equals(whole)).toBe(true);
      const txt = await collect(chunked(plain, chunk).pipe(fernetEncryptStream(key, 'base64url-text', parts)));
      expect(txt.data.toString()).toBe(toBase64UrlPadded(whole));
    }
  });

  test('bad keys are a ConfigError naming the position, not the value', () => {
    expect(() => parseFernetKeys([])).toThrow(ConfigError);
    const bad = 'not-a-key-at-all';
    expect(() => parseFernetKeys([KEY_A, bad])).toThrow(/key 2 of 2 is not a Fernet key/);
    try {
      parseFernetKeys([bad]);
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
    }
  });

  test('plaintext size is unknown before decryption', () => {
    expect(text([KEY_A]).plaintextSize()).toBeUndefined();
  });
});

describe('FernetCodec: several keys (MultiFernet order)', () => {
  /** A key with KEY_A's encryption half and another signing half. */
  const SAME_HALF = Buffer.concat([Buffer.alloc(16, 0x5a), Buffer.from(KEY_A, 'base64url').subarray(16)]).toString(
    'base64url',
  );
  const MIB = 1024 * 1024;
  const never = async (): Promise<Readable> => {
    throw new Error('read twice');
  };

  test('keys sharing the encryption half stream in one read, each HMAC checked', async () => {
    const codec = codecOf('auto', [SAME_HALF, KEY_A]);
    expect(codec.memoryNeed(1024 * MIB)).toBe(codec.memoryNeed(1));
    for (const keys of [[KEY_A], [SAME_HALF]]) {
      const plain = randomBytes(20_000);
      const t = Buffer.from(toBase64UrlPadded(token(plain, keys)));
      const { data, ended } = await collect(
        codec.decrypt(chunked(t, 1000), { key: 'k', size: t.length, reread: never }),
      );
      expect([data.equals(plain), ended]).toEqual([true, true]);
    }
  });

  test('different encryption halves, a small object: one read, kept whole, the rotated key found', async () => {
    const codec = codecOf('auto', [KEY_B, KEY_A]);
    const plain = randomBytes(300_000);
    for (const form of ['text', 'raw'] as const) {
      const t = stored(form, token(plain, [KEY_A]));
      const { data, ended } = await collect(
        codec.decrypt(chunked(t, 65536), { key: 'k', size: t.length, reread: never }),
      );
      expect([data.equals(plain), ended]).toEqual([true, true]);
    }
  });

  test('different encryption halves, a large object: read twice (the first read finds the key), memory a chunk', async () => {
    const codec = codecOf('auto', [KEY_B, KEY_A]);
    expect(codec.memoryNeed(1024 * MIB)).toBe(codec.memoryNeed(64 * MIB));
    const plain = randomBytes(9 * MIB);
    for (const form of ['text', 'raw'] as const) {
      const t = stored(form, token(plain, [KEY_A]));
      // The size known from the GET, or unknown (kept until it passes the whole-read bound, then let go).
      for (const size of [t.length, undefined]) {
        let reads = 1;
        const reread = async () => {
          reads++;
          return chunked(t, 65536);
        };
        const { data, ended } = await collect(codec.decrypt(chunked(t, 65536), { key: 'k', size, reread }));
        expect([data.equals(plain), ended, reads]).toEqual([true, true, 2]);
      }
    }
  });

  test('different encryption halves: tampered, or no key verifies, fails as "auth" before the end; kinds stay precise', async () => {
    const codec = codecOf('auto', [KEY_B, KEY_A]);
    const big = token(randomBytes(9 * MIB), [KEY_A]);
    const tampered = Buffer.from(big);
    tampered[5000] ^= 1;
    const reread = async () => chunked(tampered, 65536);
    const bad = await collectFailure(
      codec.decrypt(chunked(tampered, 65536), { key: 'k', size: tampered.length, reread }),
    );
    expect(bad).toMatchObject({ error: { kind: 'auth' }, ended: false });
    const other = codecOf('auto', [KEY_B, Buffer.alloc(32, 1).toString('base64url')]);
    const none = await collectFailure(other.decrypt(Readable.from([token(Buffer.from('x'), [KEY_A])]), { key: 'k' }));
    expect(none.error).toMatchObject({ kind: 'auth', message: expect.stringContaining('any of the 2 key(s)') });
    const cut = await collectFailure(
      codec.decrypt(Readable.from([big.subarray(0, 5000)]), { key: 'k', size: big.length, reread }),
    );
    expect(cut.error).toMatchObject({ kind: 'truncated' });
    const jpeg = await collectFailure(codec.decrypt(Readable.from([Buffer.from([0xff, 0xd8, 0xff])]), { key: 'k' }));
    expect(jpeg.error).toMatchObject({ kind: 'format' });
  });

  test('different encryption halves and no second read: kept whole up to maxObjectBytes, "too-large" above', async () => {
    const codec = new FernetCodec([KEY_B, KEY_A], { storage: 'raw', maxObjectBytes: 4096 });
    const small = token(Buffer.alloc(1000, 1), [KEY_A]);
    expect((await collect(codec.decrypt(chunked(small, 100), { key: 'k' }))).data.equals(Buffer.alloc(1000, 1))).toBe(
      true,
    );
    const big = token(Buffer.alloc(8000), [KEY_A]);
    const bySize = await collectFailure(codec.decrypt(Readable.from([big]), { key: 'k', size: big.length }));
    expect(bySize.error).toMatchObject({ kind: 'too-large', message: expect.stringContaining('codec.maxObjectBytes') });
    const source = chunked(big, 1000);
    const whileReading = await collectFailure(codec.decrypt(source, { key: 'k' }));
    expect(whileReading.error).toMatchObject({ kind: 'too-large' });
    expect(source.destroyed).toBe(true);
  });

  test('fernetDecrypt (whole tokens) tries the keys in order', () => {
    const keys = parseFernetKeys([KEY_B, KEY_A]);
    expect(fernetDecrypt(keys, token(Buffer.from('old'), [KEY_A])).toString()).toBe('old');
    expect(() => fernetDecrypt(keys, token(Buffer.from('x'), [Buffer.alloc(32, 2).toString('base64url')]))).toThrow(
      CodecError,
    );
  });
});
