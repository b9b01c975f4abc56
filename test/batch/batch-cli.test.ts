/** `npm run batch` refuses, in one line and with exit 2, what it cannot run for; nothing is called. */
import { runCliScript } from '../helpers/cli';

describe('npm run batch refuses', () => {
  test('an S3-compatible target (the rig): S3 Control does not exist there', async () => {
    const r = await runCliScript('batch', ['--env', 'local']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^batch: workspaces\/local\.json: target is "s3-compatible": S3 Batch Operations needs AWS's S3 Control API/,
      ),
    ]);
    expect(r.stdout).toBe('');
  }, 60_000);

  test('a workspace whose batchOperations switch is off', async () => {
    const r = await runCliScript('batch', ['--env', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'batch: workspaces/dev.json: batchOperations.enabled is false: set it to true and deploy the primary stack (the function and its roles), then retry',
    );
  }, 60_000);

  test('a --manifest that is not an s3:// URL, --job-id with --manifest, --retry-quarantined alone', async () => {
    const a = await runCliScript('batch', ['--env', 'dev', '--manifest', '/tmp/m.csv']);
    expect([a.code, a.stderr.trim()]).toEqual([
      2,
      'batch: --manifest "/tmp/m.csv" is not an S3 object URL: give s3://bucket/key',
    ]);
    const b = await runCliScript('batch', ['--env', 'dev', '--manifest', 's3://b/k.csv', '--job-id', 'j']);
    expect([b.code, b.stderr.trim()]).toEqual([
      2,
      'batch: --job-id reads an existing job: give it without --manifest and --prefix',
    ]);
    const c = await runCliScript('batch', ['--env', 'dev', '--retry-quarantined']);
    expect([c.code, c.stderr.trim()]).toEqual([2, 'batch: --retry-quarantined goes with --retry-of <job-id>']);
  }, 60_000);
});
