/**
 * `npm run gateway` (its esbuild bundle, which starts in a second): --help, unknown flags and bad configuration refused
 * in one line with exit 2, before any network.
 */
import { runCliScript } from '../helpers/cli';

jest.setTimeout(120_000);

const STORE = {
  PHOTO_STORE_MODE: 'new-only',
  PHOTO_STORE_BUCKET: 'b',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'gw',
  AWS_SECRET_ACCESS_KEY: 'gw-secret',
};
const APP = {
  BUCKETMOVE_GATEWAY_ACCESS_KEY_ID: 'app',
  BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY: 'app-secret-never-printed',
};
/** Only what the test gives: nothing of the caller's AWS or store settings. */
const env = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(AWS_|LEGACY_|PHOTO_|BUCKETMOVE_GATEWAY_)/.test(k)),
  ),
  ...extra,
});
const gateway = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  runCliScript('gateway', args, { env: env(extra), bundled: true });

test('--help describes it; exit 0', async () => {
  const r = await gateway(['--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('--env');
  expect(r.stdout).toContain('BUCKETMOVE_GATEWAY_ACCESS_KEY_ID');
  expect(r.stdout).toContain('--tls-cert');
});

test.each([
  [['--env', 'local', '--bogus'], {}, /Unknown argument: bogus/],
  [[], {}, /Missing required argument: env/],
  [['--env', 'nope'], { ...STORE, ...APP }, /nope/],
  [['--env', 'local', '--port', '70000'], { ...STORE, ...APP }, /--port must be a whole number from 0 to 65535/],
  [
    ['--env', 'local', '--host', '0.0.0.0'],
    { ...STORE, ...APP },
    /not a loopback address: serve HTTPS .* or pass --insecure-bind/,
  ],
  [['--env', 'local', '--tls-cert', 'c.pem'], { ...STORE, ...APP }, /--tls-cert and --tls-key go together/],
  [
    ['--env', 'local', '--tls-cert', '/nonexistent/c.pem', '--tls-key', '/nonexistent/k.pem'],
    { ...STORE, ...APP },
    /cannot read the TLS files/,
  ],
  [['--env', 'local'], { ...APP }, /PHOTO_STORE_MODE is not set/],
  [
    ['--env', 'local'],
    { ...STORE },
    /missing BUCKETMOVE_GATEWAY_ACCESS_KEY_ID and BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY/,
  ],
])('refuses %j in one line, exit 2', async (args, extra, message) => {
  const r = await gateway(args, extra);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toContain('app-secret-never-printed');
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
