/**
 * The synth inputs (stacks/app.ts): each from an environment variable or the cdktf context, never ambiguous.
 */
import { App } from 'cdktf';
import { resolveSynthOptions } from '../../stacks/app';
import { ConfigError } from '../../workspaces/errors';
import { cleanup, tempDir } from '../helpers/synth';

const dirs: string[] = [];
function app(context: Record<string, unknown> = {}): App {
  const outdir = tempDir('settings');
  dirs.push(outdir);
  return new App({ outdir, context });
}
afterAll(() => cleanup(...dirs));

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('synth inputs', () => {
  it('defaults to every "aws" env, Terraform Cloud, no approval', () => {
    expect(resolveSynthOptions(app(), {})).toEqual({ envs: undefined, backend: 'cloud', approvalFile: undefined });
  });

  it('reads the environment variables', () => {
    expect(
      resolveSynthOptions(app(), {
        BUCKETMOVE_ENVS: ' prod, staging ,prod',
        BUCKETMOVE_BACKEND: 'local',
        BUCKETMOVE_TEARDOWN_APPROVAL: 'approval.json',
      }),
    ).toEqual({ envs: ['prod', 'staging'], backend: 'local', approvalFile: 'approval.json' });
  });

  it('reads the cdktf context (envs as a list or a comma-separated string)', () => {
    expect(resolveSynthOptions(app({ envs: ['dev'], backend: 'local', teardownApproval: 'a.json' }), {})).toEqual({
      envs: ['dev'],
      backend: 'local',
      approvalFile: 'a.json',
    });
    expect(resolveSynthOptions(app({ envs: 'dev,prod' }), {}).envs).toEqual(['dev', 'prod']);
  });

  it('accepts the same value from both places', () => {
    expect(resolveSynthOptions(app({ backend: 'local' }), { BUCKETMOVE_BACKEND: 'local' }).backend).toBe('local');
  });

  it('refuses an environment variable and a context value that disagree', () => {
    expect(
      configError(() =>
        resolveSynthOptions(app({ teardownApproval: 'a.json' }), { BUCKETMOVE_TEARDOWN_APPROVAL: 'b.json' }),
      ),
    ).toBe(
      'BUCKETMOVE_TEARDOWN_APPROVAL="b.json" and cdktf context "teardownApproval"="a.json" disagree; set only one',
    );
  });

  it('refuses a bad backend, an empty env list and a context value that is not a string', () => {
    expect(configError(() => resolveSynthOptions(app({ backend: 's3' }), {}))).toMatch(
      /^cdktf context "backend": must be "cloud"/,
    );
    expect(configError(() => resolveSynthOptions(app(), { BUCKETMOVE_ENVS: ' , ' }))).toMatch(
      /^BUCKETMOVE_ENVS: names no env/,
    );
    expect(configError(() => resolveSynthOptions(app({ teardownApproval: true }), {}))).toMatch(
      /^cdktf context "teardownApproval": must be a string/,
    );
  });
});
