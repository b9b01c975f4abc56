/** The legacy app used Python's `cryptography`: its tokens and blobs must decrypt here, and ours there. */
import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import { AesGcmCodec } from '../../migrator/src/codec/aes-gcm';
import { FernetCodec, toBase64UrlPadded } from '../../migrator/src/codec/fernet';
import { legacyPython, runLegacyPython } from '../helpers/python-legacy';
import { chunked, collect, collectFailure } from '../helpers/streams';

const FERNET_OLD = toBase64UrlPadded(Buffer.alloc(32, 0x11));
const FERNET_NEW = toBase64UrlPadded(Buffer.alloc(32, 0x22));
const GCM_OLD = Buffer.alloc(32, 0x33).toString('base64');
const GCM_NEW = Buffer.alloc(32, 0x44).toString('base64');
const MAX = 64 * 1024 * 1024;
const SIZES = [0, 1, 15, 16, 17, 1000, 300_000];

describe('Fernet with Python cryptography', () => {
  test.each(SIZES)('a Python token of %i bytes decrypts here (text and raw storage)', async (n) => {
    const plain = randomBytes(n);
    const token = legacyPython('fernet-encrypt', plain, [FERNET_NEW]);
    const text = new FernetCodec([FERNET_NEW], { storage: 'base64url-text', maxObjectBytes: MAX });
    expect((await collect(text.decrypt(Readable.from([token]), { key: 'k' }))).data.equals(plain)).toBe(true);
    const raw = new FernetCodec([FERNET_NEW], { storage: 'raw', maxObjectBytes: MAX });
    const rawToken = Buffer.from(token.toString(), 'base64url');
    expect((await collect(raw.decrypt(Readable.from([rawToken]), { key: 'k' }))).data.equals(plain)).toBe(true);
  });

  test.each(SIZES)('our token of %i bytes decrypts in Python', (n) => {
    const plain = randomBytes(n);
    const ours = new FernetCodec([FERNET_NEW], { storage: 'base64url-text', maxObjectBytes: MAX }).encrypt(plain);
    expect(legacyPython('fernet-decrypt', ours, [FERNET_NEW]).equals(plain)).toBe(true);
  });

  test('rotation: a token from the old key decrypts with [new, old] in both', async () => {
    const token = legacyPython('fernet-encrypt', Buffer.from('before rotation'), [FERNET_OLD]);
    const codec = new FernetCodec([FERNET_NEW, FERNET_OLD], { storage: 'base64url-text', maxObjectBytes: MAX });
    expect((await collect(codec.decrypt(Readable.from([token]), { key: 'k' }))).data.toString()).toBe(
      'before rotation',
    );
    expect(legacyPython('fernet-decrypt', token, [FERNET_NEW, FERNET_OLD]).toString()).toBe('before rotation');
  });

  test('both refuse a tampered token', async () => {
    const token = Buffer.from(legacyPython('fernet-encrypt', Buffer.from('x'), [FERNET_NEW]));
    token[20] = token[20] === 0x41 ? 0x42 : 0x41;
    expect(runLegacyPython('fernet-decrypt', token, [FERNET_NEW]).status).toBe(3);
    const codec = new FernetCodec([FERNET_NEW], { storage: 'base64url-text', maxObjectBytes: MAX });
    expect((await collectFailure(codec.decrypt(Readable.from([token]), { key: 'k' }))).error).toMatchObject({
      kind: 'auth',
    });
  });
});

describe('Fernet: one bucket of both stored forms and rotated keys, made by Python', () => {
  // As an app that changed over the years wrote them: text tokens (Fernet.encrypt), and the decoded raw bytes; some
  // under the key rotated away, some under the current one.
  const objects = SIZES.flatMap((n) =>
    [FERNET_OLD, FERNET_NEW].flatMap((key) => {
      const plain = randomBytes(n);
      const text = legacyPython('fernet-encrypt', plain, [key]);
      return [
        { plain, stored: text, form: 'text' },
        { plain, stored: Buffer.from(text.toString(), 'base64url'), form: 'raw' },
      ];
    }),
  );
  const auto = new FernetCodec([FERNET_NEW, FERNET_OLD], { storage: 'auto', maxObjectBytes: MAX });

  test('storage "auto" with [new, old] decrypts every object, streamed in uneven chunks', async () => {
    for (const o of objects) {
      const { data, ended } = await collect(auto.decrypt(chunked(o.stored, 1000), { key: 'k', size: o.stored.length }));
      expect([data.equals(o.plain), ended, o.form]).toEqual([true, true, o.form]);
    }
  });

  test('a strict setting reads its own form only, refusing the other as "format"', async () => {
    for (const storage of ['base64url-text', 'raw'] as const) {
      const strict = new FernetCodec([FERNET_NEW, FERNET_OLD], { storage, maxObjectBytes: MAX });
      for (const o of objects.filter((x) => x.plain.length === 1000)) {
        const own = (storage === 'raw') === (o.form === 'raw');
        if (own)
          expect((await collect(strict.decrypt(Readable.from([o.stored]), { key: 'k' }))).data.equals(o.plain)).toBe(
            true,
          );
        else
          expect((await collectFailure(strict.decrypt(Readable.from([o.stored]), { key: 'k' }))).error).toMatchObject({
            kind: 'format',
          });
      }
    }
  });

  test('under "auto" the kinds stay precise: tampered is "auth", cut short is "truncated", a photo is "format"', async () => {
    for (const o of objects.filter((x) => x.plain.length === 1000)) {
      const tampered = Buffer.from(o.stored);
      tampered[60] = tampered[60] === 0x41 ? 0x42 : 0x41;
      expect(
        runLegacyPython('fernet-decrypt', o.form === 'text' ? tampered : Buffer.from(toBase64UrlPadded(tampered)), [
          FERNET_NEW,
          FERNET_OLD,
        ]).status,
      ).toBe(3);
      expect((await collectFailure(auto.decrypt(Readable.from([tampered]), { key: 'k' }))).error).toMatchObject({
        kind: 'auth',
      });
      const cut = o.stored.subarray(0, o.stored.length - 10);
      expect(
        (await collectFailure(auto.decrypt(Readable.from([cut]), { key: 'k', size: o.stored.length }))).error,
      ).toMatchObject({ kind: 'truncated' });
    }
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]);
    expect((await collectFailure(auto.decrypt(Readable.from([jpeg]), { key: 'k' }))).error).toMatchObject({
      kind: 'format',
    });
  });
});

describe('AES-256-GCM with Python cryptography (nonce | ciphertext | tag)', () => {
  test.each(SIZES)('a Python blob of %i bytes decrypts here, with and without AAD', async (n) => {
    const plain = randomBytes(n);
    const key = 'chats/42/photos/\u00fcber photo.jpg';
    const plainBlob = legacyPython('gcm-encrypt', plain, [GCM_NEW]);
    const aadBlob = legacyPython('gcm-encrypt', plain, [GCM_NEW], key);
    const none = new AesGcmCodec([GCM_NEW], { aad: 'none', maxObjectBytes: MAX });
    const bound = new AesGcmCodec([GCM_NEW], { aad: 'object-key', maxObjectBytes: MAX });
    expect(
      (await collect(none.decrypt(Readable.from([plainBlob]), { key, size: plainBlob.length }))).data.equals(plain),
    ).toBe(true);
    expect((await collect(bound.decrypt(Readable.from([aadBlob]), { key }))).data.equals(plain)).toBe(true);
  });

  test.each(SIZES)('our blob of %i bytes decrypts in Python', (n) => {
    const plain = randomBytes(n);
    const codec = new AesGcmCodec([GCM_NEW], { aad: { fixed: 'chatapp' }, maxObjectBytes: MAX });
    expect(legacyPython('gcm-decrypt', codec.encrypt(plain, { key: 'k' }), [GCM_NEW], 'chatapp').equals(plain)).toBe(
      true,
    );
  });

  test('rotation across implementations', async () => {
    const blob = legacyPython('gcm-encrypt', Buffer.from('old'), [GCM_OLD]);
    const codec = new AesGcmCodec([GCM_NEW, GCM_OLD], { aad: 'none', maxObjectBytes: MAX });
    expect((await collect(codec.decrypt(Readable.from([blob]), { key: 'k' }))).data.toString()).toBe('old');
  });

  test('both refuse a tampered blob; ours fails before the stream ends', async () => {
    const blob = Buffer.from(legacyPython('gcm-encrypt', randomBytes(4000), [GCM_NEW]));
    blob[2000] ^= 1;
    expect(runLegacyPython('gcm-decrypt', blob, [GCM_NEW]).status).toBe(3);
    const codec = new AesGcmCodec([GCM_NEW], { aad: 'none', maxObjectBytes: MAX });
    const res = await collectFailure(codec.decrypt(Readable.from([blob]), { key: 'k' }));
    expect(res).toMatchObject({ error: { kind: 'auth' }, ended: false });
  });
});
