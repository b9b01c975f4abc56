/**
 * The Lambda runtime table (stacks/lambda-runtimes.ts) and the synth-time check of the functions' runtime against a
 * clock: refused (one line, naming the date) once AWS blocks creating functions with it, a warning within 90 days of
 * its deprecation. The clock is injected (SynthOptions.now), so the tests do not depend on today's date.
 */
import { Testing } from 'cdktf';
import { addStacks, type SynthOptions } from '../../stacks/app';
import { LAMBDA_BUNDLE, LAMBDA_RUNTIME } from '../../stacks/lambda-bundle';
import {
  checkRuntime,
  DEPRECATION_WARNING_DAYS,
  esbuildTarget,
  LAMBDA_RUNTIMES,
  runtimeDates,
} from '../../stacks/lambda-runtimes';
import { ConfigError } from '../../workspaces/errors';
import { cleanup, tempDir } from '../helpers/synth';
import { testKeyRotationBundleDir, testLambdaBundleDir } from '../helpers/lambda-bundle';

const at = (iso: string) => new Date(`${iso}T12:00:00Z`);

describe('the runtime table', () => {
  it("holds the dates of AWS's Lambda runtimes page for the Node.js runtimes", () => {
    expect(LAMBDA_RUNTIMES['nodejs20.x']).toEqual({
      nodeMajor: 20,
      deprecation: '2026-04-30',
      blockCreate: '2026-08-31',
      blockUpdate: '2026-09-30',
    });
    expect(LAMBDA_RUNTIMES['nodejs22.x']).toEqual({
      nodeMajor: 22,
      deprecation: '2027-04-30',
      blockCreate: '2027-06-01',
      blockUpdate: '2027-07-01',
    });
    expect(LAMBDA_RUNTIMES['nodejs24.x']).toEqual({
      nodeMajor: 24,
      deprecation: '2028-04-30',
      blockCreate: '2028-06-01',
      blockUpdate: '2028-07-01',
    });
    for (const d of Object.values(LAMBDA_RUNTIMES)) {
      expect(d.deprecation < d.blockCreate && d.blockCreate < d.blockUpdate).toBe(true);
    }
  });

  it('the stacks use the runtime supported longest that the pinned provider accepts, and the bundle targets its Node major', () => {
    // nodejs24.x is supported longer, but hashicorp/aws 5.100.0 refuses it (test/stacks/terraform.test.ts shows both).
    const [longest, next] = Object.entries(LAMBDA_RUNTIMES)
      .sort(([, a], [, b]) => b.blockCreate.localeCompare(a.blockCreate))
      .map(([r]) => r);
    expect([longest, next]).toEqual(['nodejs24.x', 'nodejs22.x']);
    expect(LAMBDA_RUNTIME).toBe(next);
    expect(LAMBDA_BUNDLE.runtime).toBe('nodejs22.x');
    expect(esbuildTarget(LAMBDA_BUNDLE.runtime)).toBe('node22');
  });

  it('refuses a runtime it has no dates for, in one line', () => {
    expect(() => runtimeDates('nodejs26.x')).toThrow(ConfigError);
    expect(() => runtimeDates('nodejs26.x')).toThrow(
      /^Lambda runtime nodejs26\.x is not in stacks\/lambda-runtimes\.ts \(known: nodejs20\.x, nodejs22\.x, nodejs24\.x\)/,
    );
  });
});

describe('checkRuntime', () => {
  const what = 'the function';

  it('is silent more than 90 days before the deprecation', () => {
    expect(DEPRECATION_WARNING_DAYS).toBe(90);
    expect(checkRuntime('nodejs24.x', at('2026-11-30'), what)).toBeUndefined();
    expect(checkRuntime('nodejs22.x', at('2027-01-29'), what)).toBeUndefined();
  });

  it('warns within 90 days of the deprecation, naming the date and the days left', () => {
    expect(checkRuntime('nodejs22.x', at('2027-01-31'), what)).toBe(
      'the function: Lambda runtime nodejs22.x is deprecated on 2027-04-30 (in 89 days); creating functions with it is blocked from 2027-06-01: move to a newer runtime in stacks/lambda-bundle.ts',
    );
  });

  it('warns after the deprecation until creation is blocked', () => {
    expect(checkRuntime('nodejs20.x', at('2026-05-15'), what)).toMatch(
      /^the function: Lambda runtime nodejs20\.x has been deprecated since 2026-04-30; creating functions with it is blocked from 2026-08-31/,
    );
  });

  it('refuses, in one line naming the date, once creation is blocked', () => {
    // Today (2026-11-30) for the runtime the stacks used before: both creation and updates are blocked.
    let caught: unknown;
    try {
      checkRuntime('nodejs20.x', at('2026-11-30'), what);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toBe(
      'the function: AWS Lambda blocks creating functions with runtime nodejs20.x since 2026-08-31 (and updates since 2026-09-30): move to a newer runtime in stacks/lambda-bundle.ts',
    );
    expect(() => checkRuntime('nodejs20.x', at('2026-09-05'), what)).toThrow(
      /since 2026-08-31 \(and updates from 2026-09-30\)/,
    );
    expect(() => checkRuntime('nodejs20.x', new Date('2026-08-31T00:00:00Z'), what)).toThrow(ConfigError);
    expect(() => checkRuntime('nodejs20.x', new Date('2026-08-30T23:59:59Z'), what)).not.toThrow();
  });
});

describe("synth checks the functions' runtime (the clock injected)", () => {
  const scratch: string[] = [];
  afterAll(() => cleanup(...scratch));
  const synth = (options: Partial<SynthOptions>) => {
    const outdir = tempDir('runtime-synth');
    scratch.push(outdir);
    const warnings: string[] = [];
    const app = Testing.app({ outdir });
    addStacks(app, {
      backend: 'cloud',
      lambdaBundleDir: testLambdaBundleDir(),
      keyRotationBundleDir: testKeyRotationBundleDir(),
      warn: (l) => warnings.push(l),
      ...options,
    });
    return warnings;
  };

  it('today: no warning for nodejs22.x', () => {
    expect(synth({ now: at('2026-11-30') })).toEqual([]);
  });

  it("within 90 days of nodejs22.x's deprecation: one warning line naming the functions and the date", () => {
    expect(synth({ now: at('2027-03-01') })).toEqual([
      'the Batch Operations function (staging) and the key rotation function (prod, staging): Lambda runtime nodejs22.x is deprecated on 2027-04-30 (in 60 days); creating functions with it is blocked from 2027-06-01: move to a newer runtime in stacks/lambda-bundle.ts',
    ]);
  });

  it('once creation is blocked: refused in one line, nothing synthesized', () => {
    expect(() => synth({ now: at('2027-06-02') })).toThrow(
      /^the Batch Operations function \(staging\) and the key rotation function \(prod, staging\): AWS Lambda blocks creating functions with runtime nodejs22\.x since 2027-06-01/,
    );
    expect(() => synth({ now: at('2027-06-02'), envs: ['prod'] })).toThrow(
      /^the key rotation function \(prod\): AWS Lambda blocks/,
    );
  });

  it('no function, no check: dev (no Batch Operations, no scheduled rotation) and the legacy stacks alone synthesize any day', () => {
    expect(synth({ now: at('2027-06-02'), envs: ['dev'] })).toEqual([]);
    expect(synth({ now: at('2027-06-02'), legacyOnly: true })).toEqual([]);
  });
});
