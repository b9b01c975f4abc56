/**
 * The teardown approval: its format (zod schema), the atomic writer and the reader the audit gate will reuse, and the
 * checks synth makes before it lifts the interlock of a legacy stack.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdktf';
import {
  checkTeardownApproval,
  MAX_APPROVAL_VALIDITY_HOURS,
  parseTeardownApproval,
  readTeardownApproval,
  teardownApprovalSchema,
  writeTeardownApproval,
  type TeardownApproval,
} from '../stacks/approval';
import { addStacks } from '../stacks/app';
import { ConfigError, loadWorkspace } from '../workspaces/load';
import { approvalFor, cleanup, FIXED_NOW, tempDir } from './helpers/synth';
import { testKeyRotationBundleDir, testLambdaBundleDir } from './helpers/lambda-bundle';

const prod = loadWorkspace('prod');
const good = approvalFor('prod', prod.legacy.bucket) as TeardownApproval;
let dir: string;

beforeEach(() => {
  dir = tempDir('approval');
});
afterEach(() => cleanup(dir));

function oneLineError(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const message = (caught as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('approval file format', () => {
  it('round-trips through the writer and the reader', () => {
    const file = path.join(dir, 'nested', 'approval-prod.json');
    writeTeardownApproval(file, good);
    expect(readTeardownApproval(file)).toEqual(good);
    expect(teardownApprovalSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')))).toEqual(good);
  });

  it('the writer leaves no temp file behind and writes nothing when the approval is invalid', () => {
    const file = path.join(dir, 'approval.json');
    writeTeardownApproval(file, good);
    expect(fs.readdirSync(dir)).toEqual(['approval.json']);
    const bad = { ...good, expiresAt: good.approvedAt };
    expect(oneLineError(() => writeTeardownApproval(path.join(dir, 'bad.json'), bad))).toMatch(/expiresAt: must be later than approvedAt/);
    expect(fs.readdirSync(dir)).toEqual(['approval.json']);
  });

  it.each([
    ['a missing field', (a: any) => delete a.legacyBucket, /legacyBucket: is missing/],
    ['a missing nested field', (a: any) => delete a.auditReport.listingDigest, /auditReport\.listingDigest: is missing/],
    ['an unknown field', (a: any) => (a.approved = true), /unknown field "approved": remove it/],
    ['a bad digest', (a: any) => (a.auditReport.listingDigest = 'md5:abc'), /auditReport\.listingDigest: must be "sha256:" followed by 64/],
    ['a time without offset', (a: any) => (a.approvedAt = '2025-06-01 09:00'), /approvedAt: must be an ISO 8601 time/],
    ['a bad bucket name', (a: any) => (a.legacyBucket = 'Bad_Bucket'), /legacyBucket: "Bad_Bucket" is not a valid bucket name/],
    ['a validity window that is too long', (a: any) => (a.expiresAt = '2025-07-01T09:00:00Z'), new RegExp(`expiresAt: must be at most ${MAX_APPROVAL_VALIDITY_HOURS} hours`)],
  ])('rejects %s with a one-line error naming the field', (_what, mutate, expected) => {
    const raw = JSON.parse(JSON.stringify(good));
    mutate(raw);
    expect(oneLineError(() => parseTeardownApproval(raw, 'approval.json'))).toMatch(expected);
  });

  it('names the file when it cannot be read or is not JSON', () => {
    expect(oneLineError(() => readTeardownApproval(path.join(dir, 'nope.json')))).toMatch(/nope\.json: cannot be read \(ENOENT\)/);
    fs.writeFileSync(path.join(dir, 'broken.json'), '{"env": ');
    expect(oneLineError(() => readTeardownApproval(path.join(dir, 'broken.json')))).toMatch(/broken\.json: not valid JSON/);
  });
});

describe('approval checks at synth time', () => {
  const target = { env: 'prod', legacyBucket: prod.legacy.bucket };

  it('accepts an approval for this env and bucket, inside its window', () => {
    expect(() => checkTeardownApproval(good, target, FIXED_NOW)).not.toThrow();
  });

  it.each([
    ['another env', { ...good, env: 'staging' }, FIXED_NOW, /env: is "staging", but it is being applied to "prod"/],
    ['another bucket', { ...good, legacyBucket: 'some-other-bucket' }, FIXED_NOW, /legacyBucket: is "some-other-bucket", but workspace "prod" has legacy bucket/],
    ['an expired approval', good, new Date('2025-06-02T09:00:00Z'), /expiresAt: expired at 2025-06-02T09:00:00Z/],
    ['an approval from the future', good, new Date('2025-06-01T08:00:00Z'), /approvedAt: 2025-06-01T09:00:00Z is in the future/],
  ])('refuses %s', (_what, approval, now, expected) => {
    expect(oneLineError(() => checkTeardownApproval(approval as TeardownApproval, target, now))).toMatch(expected);
  });

  function synthWith(approval: unknown, envs?: string[]) {
    const file = path.join(dir, 'approval.json');
    fs.writeFileSync(file, JSON.stringify(approval));
    const outdir = path.join(dir, 'out');
    const app = new App({ outdir });
    return () =>
      addStacks(app, { backend: 'cloud', approvalFile: file, envs, now: FIXED_NOW, lambdaBundleDir: testLambdaBundleDir(), keyRotationBundleDir: testKeyRotationBundleDir() });
  }

  it('lifts the interlock of the approved env only', () => {
    const built = synthWith(good)();
    expect(built.legacy.map((s) => [s.node.id, s.teardownApproved])).toEqual([
      ['legacy-dev', false],
      ['legacy-prod', true],
      ['legacy-staging', false],
    ]);
  });

  it('refuses an approval for an env that is not being synthesized', () => {
    expect(oneLineError(synthWith(good, ['dev']))).toMatch(/env: "prod" is not among the envs being synthesized \(dev\)/);
  });

  it('refuses an approval whose bucket is not the workspace legacy bucket, before building any stack', () => {
    const run = synthWith({ ...good, legacyBucket: 'acme-chat-photos-prod' });
    expect(oneLineError(run)).toMatch(/legacyBucket: is "acme-chat-photos-prod"/);
    // (cdktf's App creates the empty out/stacks folder itself; no stack may be written into it)
    const stacksDir = path.join(dir, 'out', 'stacks');
    expect(fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : []).toEqual([]);
  });

  it('refuses an expired or malformed approval file', () => {
    expect(oneLineError(synthWith({ ...good, approvedAt: '2025-05-01T00:00:00Z', expiresAt: '2025-05-02T00:00:00Z' }))).toMatch(/expired/);
    expect(oneLineError(synthWith({ env: 'prod' }))).toMatch(/legacyBucket: is missing/);
  });
});
