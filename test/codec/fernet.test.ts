import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { CodecError } from '../../migrator/src/codec/codec';
import { FernetCodec, fernetDecrypt, fernetEncrypt, parseFernetKeys } from '../../migrator/src/codec/fernet';
import { ConfigError } from '../../workspaces/load';
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
const text = (keys: string[], maxObjectBytes = MAX) => new FernetCodec(keys, { storage: 'base64url-text', maxObjectBytes });

describe('Fernet spec vectors', () => {
  test.each(load('generate.json'))('generate: $src', (v) => {
    const token = fernetEncrypt(parseFernetKeys([v.secret])[0], Buffer.from(v.src!), {
      iv: Buffer.from(v.iv!),
      timestamp: unix(v.now),
    });
    expect(token.toString('base64url')).toBe(v.token.replace(/=+$/, ''));
  });

  test.each(load('verify.json'))('verify: $src', (v) => {
    const out = fernetDecrypt(parseFernetKeys([v.secret]), b64urlToken(v.token), { ttlSeconds: v.ttl_sec, now: unix(v.now) });
    expect(out.toString()).toBe(v.src);
  });

  test.each(load('invalid.json'))('invalid: $desc', async (v) => {
    const codec = new FernetCodec([v.secret], { storage: 'base64url-text', maxObjectBytes: MAX, ttlSeconds: v.ttl_sec, now: () => unix(v.now) });
    const { error } = await collectFailure(codec.decrypt(Readable.from([Buffer.from(v.token)]), { key: 'k' }));
    expect(error).toBeInstanceOf(CodecError);
  });

  test('the invalid vectors fail for the reason they name', async () => {
    const kinds: Record<string, string> = {};
    for (const v of load('invalid.json')) {
      const codec = new FernetCodec([v.secret], { storage: 'base64url-text', maxObjectBytes: MAX, ttlSeconds: v.ttl_sec, now: () => unix(v.now) });
      const { error } = await collectFailure(codec.decrypt(Readable.from([Buffer.from(v.token)]), { key: 'k' }));
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
  });
});

describe('FernetCodec', () => {
  test('round trip, base64url text and raw storage', async () => {
    const plain = Buffer.from('a photo of a rash \u{1F4F7}');
    for (const storage of ['base64url-text', 'raw'] as const) {
      const codec = new FernetCodec([KEY_A], { storage, maxObjectBytes: MAX });
      const stored = codec.encrypt(plain);
      if (storage === 'base64url-text') expect(stored.toString()).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
      else expect(stored[0]).toBe(0x80);
      const { data, ended } = await collect(codec.decrypt(chunked(stored, 7), { key: 'k', size: stored.length }));
      expect(ended).toBe(true);
      expect(data.equals(plain)).toBe(true);
    }
  });

  test('empty plaintext round-trips to an empty stream', async () => {
    const codec = text([KEY_A]);
    const { data, ended } = await collect(codec.decrypt(Readable.from([codec.encrypt(Buffer.alloc(0))]), { key: 'k' }));
    expect(ended).toBe(true);
    expect(data.length).toBe(0);
  });

  test('rotated keys: an old token decrypts with [new, old] (MultiFernet order)', async () => {
    const oldToken = text([KEY_A]).encrypt(Buffer.from('old'));
    const { data } = await collect(text([KEY_B, KEY_A]).decrypt(Readable.from([oldToken]), { key: 'k' }));
    expect(data.toString()).toBe('old');
  });

  test('the wrong key is an auth failure whose message holds no key material', async () => {
    const token = text([KEY_A]).encrypt(Buffer.from('secret photo'));
    const { error } = await collectFailure(text([KEY_B]).decrypt(Readable.from([token]), { key: 'k' }));
    expect(error).toMatchObject({ kind: 'auth' });
    const msg = (error as Error).message;
    for (const k of [KEY_A, KEY_B]) {
      expect(msg).not.toContain(k);
      expect(msg).not.toContain(k.slice(0, 12));
    }
  });

  test('a flipped byte anywhere is refused before any plaintext is emitted', async () => {
    const raw = new FernetCodec([KEY_A], { storage: 'raw', maxObjectBytes: MAX });
    const token = raw.encrypt(Buffer.alloc(100, 1));
    for (const at of [1, 10, 30, 60, token.length - 1]) {
      const bad = Buffer.from(token);
      bad[at] ^= 0x01;
      const { error, bytes } = await collectFailure(raw.decrypt(Readable.from([bad]), { key: 'k' }));
      expect(error).toMatchObject({ kind: 'auth' });
      expect(bytes).toBe(0);
    }
  });

  test('truncated tokens: cut text, cut raw bytes, and fewer bytes than the listed size', async () => {
    const codec = text([KEY_A]);
    const stored = codec.encrypt(Buffer.alloc(1000, 2));
    const cutText = await collectFailure(codec.decrypt(Readable.from([stored.subarray(0, stored.length - 5)]), { key: 'k' }));
    expect(cutText.error).toMatchObject({ kind: 'truncated' });
    const raw = new FernetCodec([KEY_A], { storage: 'raw', maxObjectBytes: MAX });
    const token = raw.encrypt(Buffer.alloc(1000, 2));
    const cutRaw = await collectFailure(raw.decrypt(Readable.from([token.subarray(0, token.length - 3)]), { key: 'k' }));
    expect(cutRaw.error).toMatchObject({ kind: 'truncated' });
    const short = await collectFailure(raw.decrypt(Readable.from([token.subarray(0, 500)]), { key: 'k', size: token.length }));
    expect(short.error).toMatchObject({ kind: 'truncated' });
  });

  test('empty and foreign objects', async () => {
    const empty = await collectFailure(text([KEY_A]).decrypt(Readable.from([], { objectMode: false }), { key: 'k' }));
    expect(empty.error).toMatchObject({ kind: 'truncated' });
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]);
    const asText = await collectFailure(text([KEY_A]).decrypt(Readable.from([jpeg]), { key: 'k' }));
    expect(asText.error).toMatchObject({ kind: 'format' });
    const raw = new FernetCodec([KEY_A], { storage: 'raw', maxObjectBytes: MAX });
    const asRaw = await collectFailure(raw.decrypt(Readable.from([jpeg]), { key: 'k' }));
    expect(asRaw.error).toMatchObject({ kind: 'format' });
  });

  test('objects over the size bound are refused, by listed size or while reading', async () => {
    const codec = text([KEY_A], 4096);
    const big = codec.encrypt(Buffer.alloc(8000));
    const bySize = await collectFailure(codec.decrypt(Readable.from([big]), { key: 'k', size: big.length }));
    expect(bySize.error).toMatchObject({ kind: 'too-large' });
    const source = chunked(big, 1000);
    const whileReading = await collectFailure(codec.decrypt(source, { key: 'k' }));
    expect(whileReading.error).toMatchObject({ kind: 'too-large' });
    expect((whileReading.error as Error).message).toContain('codec.maxObjectBytes');
    expect(source.destroyed).toBe(true);
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
