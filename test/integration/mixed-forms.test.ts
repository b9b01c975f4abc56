/**
 * Every legacy form in one run, on the real RGW: a legacy bucket written over the years by an app that changed how it
 * stored Fernet tokens (base64url text, as Fernet.encrypt returns it, and the decoded raw bytes) and rotated its key,
 * every object made by Python's `cryptography`. With the workspace's default `storage: "auto"` and the keys newest
 * first, one migration copies them all (a large one through the multipart path, read twice to find its key), the
 * audit's --deep re-reads and decrypts both sides equal, and the store's read fallback serves both forms. Damaged
 * objects keep their precise quarantine reasons under auto.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { Readable } from 'stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createCodec } from '../../migrator/src/codec';
import { generateFernetKey, toBase64UrlPadded } from '../../migrator/src/codec/fernet';
import { createLogger } from '../../migrator/src/log';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { createStore } from '../../migrator/src/store';
import { collect } from '../helpers/streams';
import { legacyPython } from '../helpers/python-legacy';
import { tmpDirPerFile } from '../helpers/tmp';
import { auditMigration } from './helpers/audit';
import { dropMigration, freshMigration, migrate, storeSide, type TestMigration } from './helpers/own-buckets';
import { MIB } from '../../workspaces/units';

jest.setTimeout(240_000);
const tmpDir = tmpDirPerFile('bm-mixed-');
const OLD = generateFernetKey();
const NEW = generateFernetKey();

describe('a bucket of text and raw Fernet tokens under rotated keys, made by Python', () => {
  let m: TestMigration;
  let logFile: string;
  const plain = new Map<string, Buffer>();
  const put = (key: string, stored: Buffer) =>
    m.legacy.s3.send(
      new PutObjectCommand({ Bucket: m.legacy.bucket, Key: key, Body: stored, ContentType: 'image/jpeg' }),
    );

  beforeAll(async () => {
    const dir = tmpDir();
    const fresh = await freshMigration('mixed', dir);
    expect(fresh.ws.codec).toMatchObject({ type: 'fernet', storage: 'auto' }); // the workspace's default
    m = { ...fresh, keys: [NEW, OLD], codec: createCodec(fresh.ws.codec, [NEW, OLD], path.dirname(fresh.ws.file)) };
    for (const [name, size] of [
      ['empty', 0],
      ['small', 1000],
      ['photo', 40_000],
    ] as const) {
      for (const [keyName, key] of [
        ['old', OLD],
        ['new', NEW],
      ] as const) {
        const body = randomBytes(size);
        const text = legacyPython('fernet-encrypt', body, [key]);
        for (const [form, stored] of [
          ['text', text],
          ['raw', Buffer.from(text.toString(), 'base64url')],
        ] as const) {
          const objectKey = `photos/${form}/${keyName}-key/${name}.jpg`;
          plain.set(objectKey, body);
          await put(objectKey, stored);
        }
      }
    }
    // A scan past the part size, raw, under the rotated key: multipart, each pass reads it twice to find its key.
    const scan = randomBytes(9 * MIB);
    plain.set('scans/raw/old-key/scan.tif', scan);
    await put(
      'scans/raw/old-key/scan.tif',
      Buffer.from(legacyPython('fernet-encrypt', scan, [OLD]).toString(), 'base64url'),
    );
    logFile = path.join(dir, 'photo-service.log');
    fs.writeFileSync(logFile, '');
  });
  afterAll(() => dropMigration(m));

  test("before the copy, the store's read fallback serves both forms with the same codec setting", async () => {
    const store = await createStore(
      {
        mode: 'dual-read',
        primary: storeSide(m.primary, 'primaryAdmin'), // empty yet: every read falls back to the legacy bucket
        legacy: { ...storeSide(m.legacy, 'legacyAdmin'), codec: m.ws.codec },
        encryption: { type: 'SSE-S3' },
        copyOnMiss: false,
        timeoutMs: 10_000,
        maxAttempts: 3,
      },
      { logger: createLogger({ name: 'photo-store', level: 'silent' }), env: { LEGACY_FERNET_KEYS: `${NEW},${OLD}` } },
    );
    for (const key of ['photos/text/old-key/photo.jpg', 'photos/raw/new-key/photo.jpg', 'scans/raw/old-key/scan.tif']) {
      const photo = await store.get(key);
      expect(photo?.source).toBe('legacy');
      expect((await collect(photo!.body)).data.equals(plain.get(key)!)).toBe(true);
    }
  });

  test('one run copies every object of both forms and both keys', async () => {
    const result = await migrate(m);
    expect(result.run.totals.copied.count).toBe(plain.size);
    expect(result.run.totals.quarantined.count).toBe(0);
    expect(result.exitCode).toBe(0);
    for (const [key, body] of plain) {
      const out = await collect(
        (await m.primary.s3.send(new GetObjectCommand({ Bucket: m.primary.bucket, Key: key }))).Body as Readable,
      );
      expect([key, out.data.equals(body)]).toEqual([key, true]);
    }
  });

  test("the audit's --deep decrypts each legacy object and finds both sides equal", async () => {
    const r = await auditMigration(m, logFile, { deep: true });
    expect(r.problems.listed).toEqual([]);
    expect(r.counts).toMatchObject({ legacyKeys: plain.size, verified: plain.size, deepCompared: plain.size });
  });

  test('damaged objects keep their precise reasons under "auto": tampered is Codec.auth, cut short is Codec.truncated', async () => {
    const text = legacyPython('fernet-encrypt', randomBytes(5000), [OLD]);
    const raw = Buffer.from(text.toString(), 'base64url');
    const tampered = Buffer.from(raw);
    tampered[100] ^= 1;
    await put('damaged/raw-tampered.jpg', tampered);
    await put('damaged/text-cut.jpg', text.subarray(0, text.length - 7));
    await put('damaged/not-fernet.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]));
    await put('damaged/text-with-newline.jpg', Buffer.from(`${toBase64UrlPadded(raw)}\n`)); // not damage: read as Python reads it
    const result = await migrate(m, { relist: true });
    expect(result.run.processed).toMatchObject({ copied: 1, quarantined: 3 });
    const checkpoint = Checkpoint.open(m.checkpointFile, {
      env: m.ws.env,
      legacyBucket: m.legacy.bucket,
      newBucket: m.primary.bucket,
      prefix: '',
    });
    try {
      expect(
        ['damaged/raw-tampered.jpg', 'damaged/text-cut.jpg', 'damaged/not-fernet.jpg'].map(
          (k) => checkpoint.get(k)?.errorCode,
        ),
      ).toEqual(['Codec.auth', 'Codec.truncated', 'Codec.format']);
    } finally {
      checkpoint.close();
    }
  });
});
