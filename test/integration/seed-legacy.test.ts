/**
 * The seeder on the real RGW: what it writes decrypts (with our codec and with Python's `cryptography`) to the bytes
 * its manifest promises, with the legacy app's content type and metadata, odd keys included; and its CLI.
 */
import { execFile } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createSideClient } from '../../migrator/src/aws/clients';
import { createCodec } from '../../migrator/src/codec';
import { generateFernetKey } from '../../migrator/src/codec/fernet';
import { readManifest } from '../../migrator/src/seed/manifest';
import { planObjects } from '../../migrator/src/seed/plan';
import { seedLegacy } from '../../migrator/src/seed/seeder';
import { parseSizeSpec } from '../../migrator/src/seed/sizes';
import { collect } from '../helpers/streams';
import { legacyPython, runLegacyPython } from '../helpers/python-legacy';
import { tmpDirPerFile } from '../helpers/tmp';
import { testWorkspace, uniqueKey } from './helpers/rig';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const REPO = path.resolve(__dirname, '..', '..');
const tmpDir = tmpDirPerFile('bm-seed-');

async function listAll(c: ReturnType<typeof createSideClient>, Prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await c.s3.send(new ListObjectsV2Command({ Bucket: c.bucket, Prefix, ContinuationToken, MaxKeys: 7 }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    ContinuationToken = page.NextContinuationToken;
  } while (ContinuationToken);
  return keys.sort();
}

describe('seedLegacy', () => {
  const ws = testWorkspace((w) => {
    w.migration.credentials = 'static';
  });
  const keys = [generateFernetKey()];
  const codec = createCodec(ws.codec, keys, path.dirname(ws.file));
  const prefix = `${uniqueKey('seed')}/chats/`;
  const seed = 'integration';
  const objects = planObjects({ count: 6, size: parseSizeSpec('1KiB-300KiB'), oddKeys: true, seed, prefix });
  const writer = createSideClient(ws, 'legacy', { env: {} }); // the rig's legacy app user, as the legacy app wrote
  const reader = createSideClient(testWorkspace(), 'legacy', { credentials: 'assume-role' }); // as the migrator reads
  let entries: Awaited<ReturnType<typeof seedLegacy>>['entries'];
  afterAll(() => [writer, reader].forEach((c) => c.destroy()));

  beforeAll(async () => {
    ({ entries } = await seedLegacy({ client: writer, codec, objects, seed, concurrency: 4 }));
  });

  test('writes every planned key, odd ones included, exactly as named', async () => {
    expect(entries.map((e) => e.key)).toEqual(objects.map((o) => o.key));
    expect(await listAll(reader, prefix)).toEqual(objects.map((o) => o.key).sort());
    expect(objects.filter((o) => o.odd).length).toBeGreaterThanOrEqual(15);
    expect(objects.some((o) => Buffer.byteLength(o.key) === 1024)).toBe(true);
  });

  test('every encrypted object decrypts with the codec to the manifest bytes, with the legacy content type and metadata', async () => {
    for (const e of entries.filter((x) => x.encrypted)) {
      const got = await reader.s3.send(new GetObjectCommand({ Bucket: reader.bucket, Key: e.key }));
      expect(got.ContentType).toBe('image/jpeg');
      expect(got.Metadata).toEqual(e.metadata);
      expect(got.ContentLength).toBe(e.storedSize);
      const { data } = await collect(codec.decrypt(got.Body as Readable, { key: e.key, size: e.storedSize }));
      expect(data.length).toBe(e.size);
      expect(sha256(data)).toBe(e.sha256);
      if (e.size >= 6) expect([...data.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]); // framed as a JPEG
    }
  });

  test("the stored tokens are Fernet as Python's cryptography reads them", async () => {
    const e = entries.find((x) => x.encrypted && x.odd === 'spaces')!;
    const got = await reader.s3.send(new GetObjectCommand({ Bucket: reader.bucket, Key: e.key }));
    const stored = Buffer.from(await got.Body!.transformToByteArray());
    expect(sha256(legacyPython('fernet-decrypt', stored, keys))).toBe(e.sha256);
  });

  test('the folder marker is stored as is: zero bytes, not encrypted', async () => {
    const marker = entries.find((x) => !x.encrypted)!;
    expect(marker.key.endsWith('/')).toBe(true);
    const got = await reader.s3.send(new GetObjectCommand({ Bucket: reader.bucket, Key: marker.key }));
    expect(got.ContentLength).toBe(0);
  });

  test('the same seed plans the same keys, sizes and bytes', () => {
    const again = planObjects({ count: 6, size: parseSizeSpec('1KiB-300KiB'), oddKeys: true, seed, prefix });
    expect(again).toEqual(objects);
  });
});

describe('seedLegacy with the AES-256-GCM codec (object key as AAD)', () => {
  test("objects decrypt with our codec and with Python's AESGCM, bound to their key", async () => {
    const ws = testWorkspace((w) => {
      w.codec = {
        type: 'aes-256-gcm',
        keys: { env: 'LEGACY_GCM_KEYS' },
        aad: 'object-key',
        maxObjectBytes: 256 * 1024 * 1024,
      };
    });
    const keys = [randomBytes(32).toString('base64')];
    const codec = createCodec(ws.codec, keys, path.dirname(ws.file));
    const prefix = `${uniqueKey('seed-gcm')}/chats/`;
    const objects = planObjects({ count: 3, size: parseSizeSpec('100KiB-2MiB'), oddKeys: false, seed: 'gcm', prefix });
    const writer = createSideClient(ws, 'legacy', { credentials: 'static', env: {} });
    const { entries } = await seedLegacy({ client: writer, codec, objects, seed: 'gcm', concurrency: 3 });
    for (const e of entries) {
      const got = await writer.s3.send(new GetObjectCommand({ Bucket: writer.bucket, Key: e.key }));
      const stored = Buffer.from(await got.Body!.transformToByteArray());
      expect(stored.length).toBe(e.size + 28); // nonce(12) | ciphertext | tag(16)
      const { data } = await collect(codec.decrypt(Readable.from([stored]), { key: e.key, size: stored.length }));
      expect(sha256(data)).toBe(e.sha256);
      expect(sha256(legacyPython('gcm-decrypt', stored, keys, e.key))).toBe(e.sha256);
      expect(runLegacyPython('gcm-decrypt', stored, keys, `${e.key}.moved`).status).toBe(3); // another key: refused
    }
    writer.destroy();
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function seedCli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'migrator/src/seed/cli.ts'), ...args],
      { cwd: REPO, env: { ...process.env, ...env }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run seed-legacy', () => {
  const ws = testWorkspace();
  const dir = tmpDir();
  // A workspaces folder with the run's local workspace (the rig's names, or those of BUCKETMOVE_TEST_STATE's server).
  const { file: _file, ...json } = ws;
  fs.writeFileSync(path.join(dir, 'local.json'), JSON.stringify(json));
  const env = {
    BUCKETMOVE_WORKSPACES_DIR: dir,
    LEGACY_FERNET_KEYS: generateFernetKey(),
    LEGACY_AWS_ACCESS_KEY_ID: '',
    LEGACY_AWS_SECRET_ACCESS_KEY: '',
  };

  test('seeds, prints a summary, and writes a manifest whose objects decrypt', async () => {
    const manifestFile = path.join(dir, 'out', 'manifest.json');
    const prefix = `${uniqueKey('seed-cli')}/chats/`;
    const run = await seedCli(
      [
        '--env',
        'local',
        '--count',
        '4',
        '--size',
        '64KiB',
        '--seed',
        'cli',
        '--prefix',
        prefix,
        '--manifest',
        manifestFile,
      ],
      env,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^seeded 4 objects into \S+ at http:\/\/\S+ \(fernet\): 256 KiB plaintext, /);
    expect(run.stdout).toContain('seed "cli"');
    expect(run.stdout).not.toContain(env.LEGACY_FERNET_KEYS);
    const manifest = readManifest(manifestFile);
    expect(manifest).toMatchObject({ bucket: ws.legacy.bucket, codec: 'fernet', seed: 'cli' });
    expect(manifest.objects.map((o) => o.size)).toEqual([65536, 65536, 65536, 65536]);
    expect(JSON.stringify(manifest)).not.toContain(env.LEGACY_FERNET_KEYS);
    const codec = createCodec(ws.codec, [env.LEGACY_FERNET_KEYS], dir);
    const reader = createSideClient(ws, 'legacy', { credentials: 'assume-role' });
    for (const o of manifest.objects) {
      expect(o.key.startsWith(prefix)).toBe(true);
      const got = await reader.s3.send(new GetObjectCommand({ Bucket: reader.bucket, Key: o.key }));
      const { data } = await collect(codec.decrypt(got.Body as Readable, { key: o.key }));
      expect(sha256(data)).toBe(o.sha256);
    }
    reader.destroy();
  });

  test.each([
    [['--env', 'local', '--count', '-1'], /^seed-legacy: --count must be a whole number >= 0 \(got -1\)\n$/],
    [['--env', 'local', '--count', '3', '--size', 'huge'], /^seed-legacy: --size "huge" is not a size: /],
    [
      ['--env', 'local', '--count', '3', '--concurrency', '0'],
      /^seed-legacy: --concurrency must be a whole number from 1 to 256 \(got 0\)\n$/,
    ],
    [['--env', 'local', '--count', '3', '--colour', 'red'], /^seed-legacy: Unknown argument: colour; see --help\n$/],
    [['--env', 'nowhere', '--count', '3'], /^seed-legacy: unknown env "nowhere": /],
    [['--count', '3'], /^seed-legacy: Missing required argument: env; see --help\n$/],
  ])('bad input %j: one line, exit 2, nothing written', async (args, message) => {
    const run = await seedCli(args, env);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('missing codec keys: one line naming the variable', async () => {
    const run = await seedCli(['--env', 'local', '--count', '1'], { ...env, LEGACY_FERNET_KEYS: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'seed-legacy: codec.keys: environment variable LEGACY_FERNET_KEYS is not set; export it with the legacy codec key(s), newest first, comma-separated\n',
    );
  });
});
