import { createHash, randomBytes } from 'crypto';
import { Readable } from 'stream';
import { AesGcmCodec, gcmEncrypt, gcmEncryptStream, OVERHEAD, parseAesKeys } from '../../migrator/src/codec/aes-gcm';
import { ConfigError } from '../../workspaces/errors';
import { chunked, collect, collectFailure } from '../helpers/streams';

const KEY_A = Buffer.alloc(32, 0xa1).toString('base64');
const KEY_B = Buffer.alloc(32, 0xb2).toString('base64');
const MAX = 64 * 1024 * 1024;
const gcm = (keys: string[], aad: 'none' | 'object-key' | { fixed: string } = 'none', maxObjectBytes = MAX) =>
  new AesGcmCodec(keys, { aad, maxObjectBytes });

describe('AesGcmCodec', () => {
  test.each([1, 5, 12, 13, 16, 17, 28, 4096, 65536])(
    'round trip, one key, streamed in %i-byte chunks',
    async (chunk) => {
      const codec = gcm([KEY_A]);
      const plain = randomBytes(10_000);
      const stored = codec.encrypt(plain, { key: 'k' });
      expect(stored.length).toBe(plain.length + OVERHEAD);
      expect(codec.plaintextSize(stored.length)).toBe(plain.length);
      const { data, ended } = await collect(codec.decrypt(chunked(stored, chunk), { key: 'k', size: stored.length }));
      expect(ended).toBe(true);
      expect(data.equals(plain)).toBe(true);
    },
  );

  test('empty plaintext', async () => {
    const codec = gcm([KEY_A]);
    const stored = codec.encrypt(Buffer.alloc(0), { key: 'k' });
    expect(stored.length).toBe(OVERHEAD);
    const { data, ended } = await collect(codec.decrypt(Readable.from([stored]), { key: 'k' }));
    expect([data.length, ended]).toEqual([0, true]);
  });

  test('AAD bound to the object key: another key name does not authenticate', async () => {
    const codec = gcm([KEY_A], 'object-key');
    const stored = codec.encrypt(Buffer.from('x-ray'), { key: 'chats/1/photos/a.jpg' });
    const ok = await collect(codec.decrypt(Readable.from([stored]), { key: 'chats/1/photos/a.jpg' }));
    expect(ok.data.toString()).toBe('x-ray');
    const moved = await collectFailure(codec.decrypt(Readable.from([stored]), { key: 'chats/2/photos/a.jpg' }));
    expect(moved.error).toMatchObject({ kind: 'auth' });
    const fixed = gcm([KEY_A], { fixed: 'chatapp-v1' });
    const f = fixed.encrypt(Buffer.from('y'), { key: 'k' });
    expect((await collect(fixed.decrypt(Readable.from([f]), { key: 'other' }))).data.toString()).toBe('y');
  });

  test('a tampered tag or body fails BEFORE the stream ends, at any chunking', async () => {
    const codec = gcm([KEY_A]);
    const stored = codec.encrypt(randomBytes(50_000), { key: 'k' });
    for (const at of [0, 5, 12, 1000, 49_000, stored.length - 1]) {
      for (const chunk of [3, 4096]) {
        const bad = Buffer.from(stored);
        bad[at] ^= 0x80;
        const { error, ended } = await collectFailure(codec.decrypt(chunked(bad, chunk), { key: 'k' }));
        expect(error).toMatchObject({ kind: 'auth' });
        expect(ended).toBe(false);
      }
    }
  });

  test('wrong key fails before the end and names no key', async () => {
    const stored = gcm([KEY_A]).encrypt(Buffer.from('secret'), { key: 'k' });
    const { error, ended } = await collectFailure(gcm([KEY_B]).decrypt(Readable.from([stored]), { key: 'k' }));
    expect(error).toMatchObject({ kind: 'auth' });
    expect(ended).toBe(false);
    expect((error as Error).message).not.toContain(KEY_A);
    expect((error as Error).message).not.toContain(KEY_B);
  });

  test('truncated: fewer bytes than the listed size, a cut-off tag, and shorter than nonce+tag', async () => {
    const codec = gcm([KEY_A]);
    const stored = codec.encrypt(randomBytes(5000), { key: 'k' });
    const short = await collectFailure(
      codec.decrypt(chunked(stored.subarray(0, 3000), 512), { key: 'k', size: stored.length }),
    );
    expect(short).toMatchObject({ error: { kind: 'truncated' }, ended: false });
    // Without a listed size, a cut is indistinguishable from tampering: it must still fail before the end.
    const cut = await collectFailure(codec.decrypt(chunked(stored.subarray(0, stored.length - 7), 512), { key: 'k' }));
    expect(cut.ended).toBe(false);
    expect(cut.error).toMatchObject({ kind: 'auth' });
    for (const n of [0, 1, 11, 12, 27]) {
      const tiny = await collectFailure(
        codec.decrypt(Readable.from([stored.subarray(0, n)], { objectMode: false }), { key: 'k' }),
      );
      expect(tiny).toMatchObject({ error: { kind: 'truncated' }, ended: false });
    }
  });

  test('rotated keys: tried in order; a small object kept whole in one read; bounded by maxObjectBytes without a second read', async () => {
    const never = async (): Promise<Readable> => {
      throw new Error('read twice');
    };
    const oldBlob = gcm([KEY_A]).encrypt(Buffer.from('old photo'), { key: 'k' });
    const both = gcm([KEY_B, KEY_A]);
    expect((await collect(both.decrypt(Readable.from([oldBlob]), { key: 'k', reread: never }))).data.toString()).toBe(
      'old photo',
    );
    const neither = await collectFailure(
      gcm([KEY_B, Buffer.alloc(32, 3).toString('base64')]).decrypt(Readable.from([oldBlob]), { key: 'k' }),
    );
    expect(neither.error).toMatchObject({ kind: 'auth' });
    expect((neither.error as Error).message).toContain('tried 2 keys');
    const big = gcm([KEY_A]).encrypt(Buffer.alloc(10_000), { key: 'k' });
    const bounded = await collectFailure(gcm([KEY_B, KEY_A], 'none', 4096).decrypt(chunked(big, 1000), { key: 'k' }));
    expect(bounded.error).toMatchObject({ kind: 'too-large' });
  });

  test('rotated keys, a large object: read twice (the first read finds the key), each read pinned; tampering fails before the end', async () => {
    const codec = gcm([KEY_B, KEY_A], 'object-key', 1024);
    expect(codec.memoryNeed(1024 ** 3)).toBe(codec.memoryNeed(64 * 1024 ** 2));
    const plain = randomBytes(9 * 1024 * 1024);
    const blob = gcm([KEY_A], 'object-key').encrypt(plain, { key: 'big.tif' });
    let reads = 1;
    const reread = async () => {
      reads++;
      return chunked(blob, 65536);
    };
    const { data, ended } = await collect(
      codec.decrypt(chunked(blob, 65536), { key: 'big.tif', size: blob.length, reread }),
    );
    expect([data.equals(plain), ended, reads]).toEqual([true, true, 2]);
    const bad = Buffer.from(blob);
    bad[100] ^= 1;
    const tampered = await collectFailure(
      codec.decrypt(chunked(bad, 65536), { key: 'big.tif', size: bad.length, reread: async () => chunked(bad, 65536) }),
    );
    expect(tampered).toMatchObject({ error: { kind: 'auth' }, ended: false });
  });

  test('a large object streams with bounded buffering (32 MiB through 64 KiB chunks)', async () => {
    const key = parseAesKeys([KEY_A])[0];
    const size = 32 * 1024 * 1024;
    const plainHash = createHash('sha256');
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < size / 65536; i++) {
          const block = Buffer.alloc(65536, i & 0xff);
          plainHash.update(block);
          yield block;
        }
      })(),
      { objectMode: false },
    );
    const stored = source.pipe(gcmEncryptStream(key));
    const out = gcm([KEY_A]).decrypt(stored, { key: 'k' });
    const outHash = createHash('sha256');
    let maxChunk = 0;
    let total = 0;
    for await (const chunk of out) {
      outHash.update(chunk as Buffer);
      maxChunk = Math.max(maxChunk, (chunk as Buffer).length);
      total += (chunk as Buffer).length;
    }
    expect(total).toBe(size);
    expect(outHash.digest('hex')).toBe(plainHash.digest('hex'));
    expect(maxChunk).toBeLessThanOrEqual(65536 + 16);
  });

  test('a source error propagates to the plaintext stream', async () => {
    const source = new Readable({ read() {} });
    const out = gcm([KEY_A]).decrypt(source, { key: 'k' });
    source.push(gcmEncrypt(parseAesKeys([KEY_A])[0], Buffer.alloc(100)).subarray(0, 50));
    setImmediate(() => source.destroy(new Error('ECONNRESET')));
    const { error, ended } = await collectFailure(out);
    expect((error as Error).message).toBe('ECONNRESET');
    expect(ended).toBe(false);
  });

  test('bad keys are a ConfigError naming the position only', () => {
    expect(() => parseAesKeys([])).toThrow(ConfigError);
    expect(() => parseAesKeys([KEY_A, Buffer.alloc(16).toString('base64')])).toThrow(
      /key 2 of 2 is not an AES-256 key/,
    );
    expect(() => parseAesKeys(['%%%'])).toThrow(ConfigError);
  });
});
