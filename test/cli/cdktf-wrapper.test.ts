/**
 * `npm run cdktf` (scripts/cdktf.ts), with a stand-in for the cdktf CLI (BUCKETMOVE_CDKTF) that records what it was
 * started with: the update, version and telemetry checks off; the arguments and the exit code passed through; for the
 * commands that reach the stacks' state in Terraform Cloud, a word before the run when no token is set and a hint
 * naming BUCKETMOVE_BACKEND=local after a failure.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tmpDirPerFile } from '../helpers/tmp';

const ROOT = path.resolve(__dirname, '../..');
const tmp = tmpDirPerFile('bm-cdktf-');

interface Run {
  code: number;
  stderr: string;
  /** What the stand-in CLI saw. */
  seen: { args: string[]; CHECKPOINT_DISABLE?: string; DISABLE_VERSION_CHECK?: string };
}

function wrapper(args: string[], env: NodeJS.ProcessEnv & { EXIT?: string }): Promise<Run> {
  const dir = tmp();
  const record = path.join(dir, 'seen.json');
  const fake = path.join(dir, 'cdktf');
  fs.writeFileSync(
    fake,
    `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args: process.argv.slice(2), CHECKPOINT_DISABLE: process.env.CHECKPOINT_DISABLE, DISABLE_VERSION_CHECK: process.env.DISABLE_VERSION_CHECK }));\nprocess.exit(Number(process.env.EXIT || 0));\n`,
    { mode: 0o755 },
  );
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    TF_TOKEN_app_terraform_io: '',
    BUCKETMOVE_BACKEND: '',
    CHECKPOINT_DISABLE: '',
    DISABLE_VERSION_CHECK: '',
    ...env,
    BUCKETMOVE_CDKTF: fake,
  };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === '') delete childEnv[k];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', require.resolve('ts-node/register/transpile-only'), path.join(ROOT, 'scripts', 'cdktf.ts'), ...args],
      { cwd: ROOT, env: childEnv, timeout: 120_000 },
      (err, _stdout, stderr) => {
        resolve({
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          stderr,
          seen: JSON.parse(fs.readFileSync(record, 'utf8')),
        });
      },
    );
  });
}

jest.setTimeout(120_000);

it('starts the CLI with its checks off and the arguments as given; exits as it does', async () => {
  const run = await wrapper(['synth', '--output', 'x y'], {});
  expect(run.seen).toEqual({
    args: ['synth', '--output', 'x y'],
    CHECKPOINT_DISABLE: '1',
    DISABLE_VERSION_CHECK: 'true',
  });
  expect([run.code, run.stderr]).toEqual([0, '']);
  const failed = await wrapper(['synth'], { EXIT: '3' });
  expect(failed.code).toBe(3);
  expect(failed.stderr).toBe('');
});

it('an explicit setting in the environment wins', async () => {
  const run = await wrapper(['synth'], { CHECKPOINT_DISABLE: '0' });
  expect(run.seen.CHECKPOINT_DISABLE).toBe('0');
});

it('deploy with the Terraform Cloud backend and no token: says so first, and after the failure names BUCKETMOVE_BACKEND=local', async () => {
  const run = await wrapper(['deploy', 'primary-dev'], { EXIT: '1' });
  expect(run.code).toBe(1);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(
    /^bucketmove: no Terraform Cloud token \(run `terraform login`, or set TF_TOKEN_app_terraform_io\): `cdktf deploy` will fail to reach the stacks' state; /,
  );
  expect(lines[1]).toMatch(
    /^bucketmove: cdktf deploy failed \(exit 1\); the stacks keep their state in Terraform Cloud: .*BUCKETMOVE_BACKEND=local npm run cdktf -- deploy primary-dev$/,
  );
});

it('with a token, nothing is said before the run; a failure still gets the hint', async () => {
  const ok = await wrapper(['diff', 'primary-dev'], { TF_TOKEN_app_terraform_io: 'some-token' });
  expect([ok.code, ok.stderr]).toEqual([0, '']);
  const failed = await wrapper(['diff', 'primary-dev'], { TF_TOKEN_app_terraform_io: 'some-token', EXIT: '1' });
  expect(failed.stderr.trim()).toMatch(
    /^bucketmove: cdktf diff failed \(exit 1\); .*BUCKETMOVE_BACKEND=local npm run cdktf -- diff primary-dev$/,
  );
});

it('with BUCKETMOVE_BACKEND=local, no word about Terraform Cloud', async () => {
  const run = await wrapper(['deploy', 'primary-dev'], { BUCKETMOVE_BACKEND: 'local', EXIT: '1' });
  expect([run.code, run.stderr]).toEqual([1, '']);
});
