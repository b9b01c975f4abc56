/**
 * The teardown approval: its format (zod schema), the atomic writer and the reader the audit gate reuses, and the
 * checks synth makes before it lifts the interlock of a legacy stack, the audit report it names read again among them.
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
} from '../../stacks/approval';
import { addStacks } from '../../stacks/app';
import { reportSha256 } from '../../workspaces/audit-verdict';
import { loadWorkspace } from '../../workspaces/load';
import { ConfigError } from '../../workspaces/errors';
import type { AuditFacts } from '../../migrator/src/audit/report';
import { cleanFacts, legacyObjects, writeReport } from '../helpers/audit-report';
import { approvalFor, cleanup, FIXED_NOW, tempDir, writeApprovedTeardown } from '../helpers/synth';
import { testKeyRotationBundleDir, testLambdaBundleDir } from '../helpers/lambda-bundle';

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
    expect(oneLineError(() => writeTeardownApproval(path.join(dir, 'bad.json'), bad))).toMatch(
      /expiresAt: must be later than approvedAt/,
    );
    expect(fs.readdirSync(dir)).toEqual(['approval.json']);
  });

  it.each([
    ['a missing field', (a: any) => delete a.legacyBucket, /legacyBucket: is missing/],
    [
      'a missing nested field',
      (a: any) => delete a.auditReport.listingDigest,
      /auditReport\.listingDigest: is missing/,
    ],
    ['an unknown field', (a: any) => (a.approved = true), /unknown field "approved": remove it/],
    [
      'a bad digest',
      (a: any) => (a.auditReport.listingDigest = 'md5:abc'),
      /auditReport\.listingDigest: must be "sha256:" followed by 64/,
    ],
    ['no hash of the report', (a: any) => delete a.auditReport.sha256, /auditReport\.sha256: is missing/],
    [
      'a bad hash of the report',
      (a: any) => (a.auditReport.sha256 = 'abc'),
      /auditReport\.sha256: must be "sha256:" followed by 64/,
    ],
    ['a time without offset', (a: any) => (a.approvedAt = '2025-06-01 09:00'), /approvedAt: must be an ISO 8601 time/],
    [
      'a bad bucket name',
      (a: any) => (a.legacyBucket = 'Bad_Bucket'),
      /legacyBucket: "Bad_Bucket" is not a valid bucket name/,
    ],
    [
      'a validity window that is too long',
      (a: any) => (a.expiresAt = '2025-07-01T09:00:00Z'),
      new RegExp(`expiresAt: must be at most ${MAX_APPROVAL_VALIDITY_HOURS} hours`),
    ],
  ])('rejects %s with a one-line error naming the field', (_what, mutate, expected) => {
    const raw = JSON.parse(JSON.stringify(good));
    mutate(raw);
    expect(oneLineError(() => parseTeardownApproval(raw, 'approval.json'))).toMatch(expected);
  });

  it('names the file when it cannot be read or is not JSON', () => {
    expect(oneLineError(() => readTeardownApproval(path.join(dir, 'nope.json')))).toMatch(
      /nope\.json: cannot be read \(ENOENT\)/,
    );
    fs.writeFileSync(path.join(dir, 'broken.json'), '{"env": ');
    expect(oneLineError(() => readTeardownApproval(path.join(dir, 'broken.json')))).toMatch(
      /broken\.json: not valid JSON/,
    );
  });
});

describe('approval checks at synth time', () => {
  const target = { env: 'prod', legacyBucket: prod.legacy.bucket };

  it('accepts an approval for this env and bucket, inside its window', () => {
    expect(() => checkTeardownApproval(good, target, FIXED_NOW)).not.toThrow();
  });

  it.each([
    ['another env', { ...good, env: 'staging' }, FIXED_NOW, /env: is "staging", but it is being applied to "prod"/],
    [
      'another bucket',
      { ...good, legacyBucket: 'some-other-bucket' },
      FIXED_NOW,
      /legacyBucket: is "some-other-bucket", but workspace "prod" has legacy bucket/,
    ],
    ['an expired approval', good, new Date('2025-06-02T09:00:00Z'), /expiresAt: expired at 2025-06-02T09:00:00Z/],
    [
      'an approval from the future',
      good,
      new Date('2025-06-01T08:00:00Z'),
      /approvedAt: 2025-06-01T09:00:00Z is in the future/,
    ],
  ])('refuses %s', (_what, approval, now, expected) => {
    expect(oneLineError(() => checkTeardownApproval(approval as TeardownApproval, target, now))).toMatch(expected);
  });

  function synthWith(approval: unknown, envs?: string[]) {
    const file = path.join(dir, 'approval.json');
    fs.writeFileSync(file, JSON.stringify(approval));
    const outdir = path.join(dir, 'out');
    const app = new App({ outdir });
    return () =>
      addStacks(app, {
        backend: 'cloud',
        approvalFile: file,
        envs,
        now: FIXED_NOW,
        lambdaBundleDir: testLambdaBundleDir(),
        keyRotationBundleDir: testKeyRotationBundleDir(),
      });
  }

  it('lifts the interlock of the approved env only', () => {
    const { approvalFile } = writeApprovedTeardown(dir, 'prod');
    const built = addStacks(new App({ outdir: path.join(dir, 'out') }), {
      backend: 'cloud',
      approvalFile,
      now: FIXED_NOW,
      lambdaBundleDir: testLambdaBundleDir(),
      keyRotationBundleDir: testKeyRotationBundleDir(),
    });
    expect(built.legacy.map((s) => [s.node.id, s.teardownApproved])).toEqual([
      ['legacy-dev', false],
      ['legacy-prod', true],
      ['legacy-staging', false],
    ]);
  });

  it('refuses an approval for an env that is not being synthesized', () => {
    expect(oneLineError(synthWith(good, ['dev']))).toMatch(
      /env: "prod" is not among the envs being synthesized \(dev\)/,
    );
  });

  it('refuses an approval whose bucket is not the workspace legacy bucket, before building any stack', () => {
    const run = synthWith({ ...good, legacyBucket: 'acme-chat-photos-prod' });
    expect(oneLineError(run)).toMatch(/legacyBucket: is "acme-chat-photos-prod"/);
    // (cdktf's App creates the empty out/stacks folder itself; no stack may be written into it)
    const stacksDir = path.join(dir, 'out', 'stacks');
    expect(fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : []).toEqual([]);
  });

  it('refuses an expired or malformed approval file', () => {
    expect(
      oneLineError(synthWith({ ...good, approvedAt: '2025-05-01T00:00:00Z', expiresAt: '2025-05-02T00:00:00Z' })),
    ).toMatch(/expired/);
    expect(oneLineError(synthWith({ env: 'prod' }))).toMatch(/legacyBucket: is missing/);
  });
});

describe('an approval is bound to its evidence: synth reads the audit report again', () => {
  const at = new Date('2025-06-01T08:30:00Z');
  const synth = (approvalFile: string) => () =>
    addStacks(new App({ outdir: path.join(dir, 'out') }), {
      backend: 'cloud',
      approvalFile,
      envs: ['prod'],
      now: FIXED_NOW,
      lambdaBundleDir: testLambdaBundleDir(),
      keyRotationBundleDir: testKeyRotationBundleDir(),
    });
  /**
   * A report written as given (its verdict as `edit` leaves it) and an approval of it with its true hash and digest.
   */
  const approvalOf = (facts: AuditFacts, edit: (r: any) => any = (r) => r) => {
    const reportFile = writeReport(path.join(dir, 'reports', 'audit-prod.json'), facts, edit);
    const approval = approvalFor('prod', prod.legacy.bucket);
    approval.auditReport = {
      path: 'reports/audit-prod.json',
      sha256: reportSha256(fs.readFileSync(reportFile)),
      listingDigest: facts.legacyListing.digest,
    };
    const approvalFile = path.join(dir, 'approval.json');
    fs.writeFileSync(approvalFile, JSON.stringify(approval));
    return approvalFile;
  };
  const noStack = () => {
    const stacksDir = path.join(dir, 'out', 'stacks');
    expect(fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : []).toEqual([]);
  };

  it('refuses a hand-written approval: a report that does not exist, a zero digest', () => {
    const file = path.join(dir, 'approval.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        ...good,
        auditReport: {
          path: 'reports/audit-prod.json',
          sha256: `sha256:${'0'.repeat(64)}`,
          listingDigest: `sha256:${'0'.repeat(64)}`,
        },
      }),
    );
    expect(oneLineError(synth(file))).toBe(
      `teardown approval ${file}: auditReport.path: the audit report ${path.join(dir, 'reports', 'audit-prod.json')} cannot be read (ENOENT); an approval must name the report the teardown gate approved: run the gate again`,
    );
    noStack();
  });

  it("accepts the approval the gate writes, its report path read from the approval's folder (not the working folder)", () => {
    const { approvalFile } = writeApprovedTeardown(dir, 'prod');
    expect(JSON.parse(fs.readFileSync(approvalFile, 'utf8')).auditReport.path).toBe('reports/audit-prod.json');
    expect(process.cwd()).not.toBe(dir);
    expect(synth(approvalFile)().legacy.map((s) => s.teardownApproved)).toEqual([true]);
    const absolute = writeApprovedTeardown(dir, 'prod', (a) => ({
      ...a,
      auditReport: { ...a.auditReport, path: path.join(dir, 'reports', 'audit-prod.json') },
    }));
    expect(synth(absolute.approvalFile)().legacy.map((s) => s.teardownApproved)).toEqual([true]);
  });

  it('refuses it once the report changed (another hash), even by one space', () => {
    const { approvalFile, reportFile } = writeApprovedTeardown(dir, 'prod');
    fs.appendFileSync(reportFile, ' ');
    expect(oneLineError(synth(approvalFile))).toMatch(
      /^teardown approval \S+approval\.json: auditReport\.sha256: the audit report \S+audit-prod\.json hashes to sha256:[0-9a-f]{64}, not the approved sha256:[0-9a-f]{64}: it changed since the approval, or is another file; run the gate again$/,
    );
    noStack();
  });

  it('refuses a report with the right hash but another listing digest (the zero digest)', () => {
    const { approvalFile } = writeApprovedTeardown(dir, 'prod', (a) => ({
      ...a,
      auditReport: { ...a.auditReport, listingDigest: `sha256:${'0'.repeat(64)}` },
    }));
    expect(oneLineError(synth(approvalFile))).toMatch(
      /: auditReport\.listingDigest: sha256:0{64} is not the digest of the report's legacy listing \(sha256:[0-9a-f]{64}\)$/,
    );
  });

  it('refuses a failed report, and one whose verdict was edited to "passed"', () => {
    const failing = cleanFacts(prod, legacyObjects(3), at);
    failing.fallback.hits = 2;
    expect(oneLineError(synth(approvalOf(failing)))).toMatch(
      /: the audit report \S+audit-prod\.json failed \(2 fallback hit\(s\) between .*: the app still reads from the legacy bucket\); audit again$/,
    );
    const thin = cleanFacts(prod, legacyObjects(3), at);
    thin.fallback.coverage = {
      ...thin.fallback.coverage,
      heartbeats: 0,
      processes: 0,
      byMode: {},
      coveredSeconds: 0,
      firstCoveredAt: undefined,
      lastCoveredAt: undefined,
    };
    expect(oneLineError(synth(approvalOf(thin, (r) => ({ ...r, passed: true, reasons: [] }))))).toMatch(
      /: the audit report \S+audit-prod\.json says it passed, but its figures say otherwise \(no heartbeats from the photo store in the 8d 0h window .*\); audit again$/,
    );
  });

  it('refuses a stale report, one that finished after the approval, one of another env, and one of the old format', () => {
    expect(
      oneLineError(synth(approvalOf(cleanFacts(prod, legacyObjects(3), new Date('2025-05-24T08:59:00Z'))))),
    ).toMatch(
      /: the audit report \S+ is stale: it finished at 2025-05-24T08:59:00\.000Z, more than 7 days before the approval \(2025-06-01T09:00:00Z\); audit again$/,
    );
    expect(
      oneLineError(synth(approvalOf(cleanFacts(prod, legacyObjects(3), new Date('2025-06-01T09:30:00Z'))))),
    ).toMatch(
      /: the audit report \S+ finished at 2025-06-01T09:30:00\.000Z, after the approval \(2025-06-01T09:00:00Z\): the approval cannot be of it$/,
    );
    const staging = loadWorkspace('staging');
    expect(oneLineError(synth(approvalOf(cleanFacts(staging, legacyObjects(3), at))))).toMatch(
      new RegExp(
        `: the audit report \\S+ is of env "staging", legacy bucket ${staging.legacy.bucket}, not of the approved "prod", ${prod.legacy.bucket}$`,
      ),
    );
    expect(
      oneLineError(synth(approvalOf(cleanFacts(prod, legacyObjects(3), at), (r) => ({ ...r, formatVersion: 1 })))),
    ).toMatch(
      /: the audit report \S+ is of format 1, from before the audit measured how much of its window the app's heartbeats cover; audit again with this version$/,
    );
    noStack();
  });
});
