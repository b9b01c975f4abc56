import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { createCodec } from '../../migrator/src/codec';
import { loadCodec } from '../../migrator/src/aws/codec-keys';
import { resolveKeys } from '../../migrator/src/aws/codec-keys';
import { loadWorkspace, parseWorkspace } from '../../workspaces/load';
import { ConfigError } from '../../workspaces/errors';
import { collect, collectFailure } from '../helpers/streams';
import { tmpDirPerFile } from '../helpers/tmp';

const tmpDir = tmpDirPerFile('bm-ws-');

const FERNET_KEY = Buffer.alloc(32, 9).toString('base64url');

describe('codec selection from the workspace', () => {
  test('local workspace: Fernet with keys from LEGACY_FERNET_KEYS', async () => {
    const ws = loadWorkspace('local');
    const codec = await loadCodec(ws, { env: { LEGACY_FERNET_KEYS: `${FERNET_KEY}` } });
    expect(codec.name).toBe('fernet');
    const stored = codec.encrypt(Buffer.from('hi'), { key: 'k' });
    expect((await collect(codec.decrypt(Readable.from([stored]), { key: 'k' }))).data.toString()).toBe('hi');
  });

  test('a missing key variable is one line naming the variable and the fix', async () => {
    const ws = loadWorkspace('local');
    await expect(loadCodec(ws, { env: {} })).rejects.toThrow(ConfigError);
    await expect(loadCodec(ws, { env: {} })).rejects.toThrow(
      /^codec\.keys: environment variable LEGACY_FERNET_KEYS is not set; export it/,
    );
  });

  test('plug-in: module path relative to the workspace file, factory export, options passed', async () => {
    const dir = tmpDir();
    const base = JSON.parse(fs.readFileSync(loadWorkspace('local').file, 'utf8'));
    base.codec = {
      type: 'plugin',
      module: path.relative(dir, path.join(__dirname, '../fixtures/reverse-codec.ts')),
      options: { label: 'rvs' },
    };
    const ws = parseWorkspace(JSON.stringify(base), path.join(dir, 'local.json'));
    const codec = await loadCodec(ws);
    expect(codec.name).toBe('plugin:rvs');
    const stored = codec.encrypt(Buffer.from('plug'), { key: 'k' });
    expect(codec.plaintextSize(stored.length)).toBe(4);
    expect((await collect(codec.decrypt(Readable.from([stored]), { key: 'k' }))).data.toString()).toBe('plug');
    const bad = Buffer.from(stored);
    bad[bad.length - 1] ^= 1;
    expect((await collectFailure(codec.decrypt(Readable.from([bad]), { key: 'k' }))).error).toMatchObject({
      kind: 'auth',
    });
  });

  test('plug-in errors: no such module, and a module that does not implement the interface', () => {
    expect(() => createCodec({ type: 'plugin', module: './nope.js', options: {} }, [], __dirname)).toThrow(
      /^codec\.module: cannot load codec plug-in "\.\/nope\.js" .*no such module$/,
    );
    expect(() =>
      createCodec({ type: 'plugin', module: '../fixtures/not-a-codec.ts', options: {} }, [], __dirname),
    ).toThrow(/must export .* name, decrypt and encrypt/);
  });

  test('AES-GCM from the workspace settings', async () => {
    const key = Buffer.alloc(32, 5).toString('base64');
    const codec = createCodec(
      { type: 'aes-256-gcm', keys: { env: 'K' }, aad: 'object-key', maxObjectBytes: 1024 },
      [key],
      __dirname,
    );
    const stored = codec.encrypt(Buffer.from('gcm'), { key: 'a/b.jpg' });
    expect((await collect(codec.decrypt(Readable.from([stored]), { key: 'a/b.jpg' }))).data.toString()).toBe('gcm');
  });
});

describe('key sources', () => {
  const env = { A: ' k1, k2\nk3 ', J: '["j1","j2"]', O: '{"keys":["o1"]}', BAD: '[1,2]', E: '  ' };
  test('env: comma/space/newline separated, JSON array, {"keys": []}', async () => {
    expect(await resolveKeys({ env: 'A' }, { env })).toEqual(['k1', 'k2', 'k3']);
    expect(await resolveKeys({ env: 'J' }, { env })).toEqual(['j1', 'j2']);
    expect(await resolveKeys({ env: 'O' }, { env })).toEqual(['o1']);
  });
  test('env: empty or malformed is a ConfigError that does not echo the value', async () => {
    await expect(resolveKeys({ env: 'E' }, { env })).rejects.toThrow(/E is not set/);
    await expect(resolveKeys({ env: 'BAD' }, { env })).rejects.toThrow(/must hold a JSON array of key strings/);
  });
  test('Secrets Manager: reads SecretString; failures name the secret and the fix, never a value', async () => {
    const sm = (out: unknown, fail?: Error) => ({ send: jest.fn(async () => (fail ? Promise.reject(fail) : out)) });
    expect(
      await resolveKeys({ secretsManager: 'legacy/keys' }, { secretsManager: sm({ SecretString: 'a,b' }) as never }),
    ).toEqual(['a', 'b']);
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    await expect(
      resolveKeys({ secretsManager: 'legacy/keys' }, { secretsManager: sm(undefined, denied) as never }),
    ).rejects.toThrow(
      /^codec\.keys: cannot read Secrets Manager secret "legacy\/keys" \(GetSecretValue: AccessDeniedException: User is not authorized\); check/,
    );
  });
});
