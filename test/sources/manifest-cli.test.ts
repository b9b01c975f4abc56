import { parseArgs as manifestArgs } from '../../migrator/src/cli/manifest';
import { parseArgs as migrateArgs } from '../../migrator/src/cli/migrate';
import { UsageError } from '../../workspaces/errors';

const usage = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('no UsageError');
};

describe('npm run manifest flags', () => {
  test('--out takes s3://bucket/key or a file', () => {
    expect(manifestArgs(['--env', 'dev', '--out', 's3://b/k.csv']).out).toBe('s3://b/k.csv');
    expect(manifestArgs(['--env', 'dev', '--out', 'm.csv', '--prefix', 'chats/']).prefix).toBe('chats/');
    expect(usage(() => manifestArgs(['--env', 'dev', '--out', 's3://bucket-only']))).toBe(
      '--out "s3://bucket-only" is not an S3 object URL: give s3://bucket/key',
    );
    expect(usage(() => manifestArgs(['--env', 'dev', '--out', ' ']))).toBe(
      '--out is empty: give s3://bucket/key or a file path',
    );
  });
});

describe('migrate --manifest flags', () => {
  test('an s3:// object URL; not with --dry-run', () => {
    expect(migrateArgs(['--env', 'dev', '--manifest', 's3://b/x/manifest.json']).manifest).toBe(
      's3://b/x/manifest.json',
    );
    expect(usage(() => migrateArgs(['--env', 'dev', '--manifest', 'manifest.csv']))).toBe(
      '--manifest "manifest.csv" is not an S3 object URL: give s3://bucket/key',
    );
    expect(usage(() => migrateArgs(['--env', 'dev', '--manifest', 's3://b/m.csv', '--dry-run']))).toBe(
      '--dry-run lists the legacy bucket; give it without --manifest',
    );
  });
});
