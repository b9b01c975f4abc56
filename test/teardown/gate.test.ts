/**
 * The teardown gate (runTeardown) with an injected legacy listing and a recording Terraform runner: no AWS. It refuses
 * without a report, with a failing, hand-edited, stale, foreign or mismatching (digest) one, with fallback hits or too
 * short a window, and then writes nothing and runs nothing. With a passing one it writes the approval, synthesizes
 * legacy-<env> carrying it (no prevent_destroy, force_destroy on), which `terraform validate` accepts offline, and runs
 * deploy-with-approval then destroy; --dry-run runs init + plan -destroy on the synthesized stack and keeps nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkApprovedReport, checkTeardownApproval, readTeardownApproval } from '../../stacks/approval';
import { reportSha256 } from '../../workspaces/audit-verdict';
import { loadWorkspace } from '../../workspaces/load';
import { ConfigError } from '../../workspaces/errors';
import type { AuditFacts } from '../../migrator/src/audit/report';
import { TeardownRefusal } from '../../migrator/src/teardown/refusal';
import { runTeardown, type TeardownOptions } from '../../migrator/src/teardown/run-teardown';
import type { Step } from '../../migrator/src/teardown/terraform-runner';
import { asStream, cleanFacts, legacyObjects, writeReport } from '../helpers/audit-report';
import { FIXED_NOW } from '../helpers/synth';
import { mustTerraform, removeCliConfig } from '../helpers/terraform';
import { tmpDirPerFile } from '../helpers/tmp';

jest.setTimeout(120_000);
const tmpDir = tmpDirPerFile('bm-gate-');
const HOUR = 3_600_000;
const ws = loadWorkspace('prod');
const objects = legacyObjects(25);
afterAll(() => removeCliConfig());

interface Harness {
  root: string;
  steps: Step[];
  lines: string[];
  listed: number;
  run(opts?: Partial<TeardownOptions>, listing?: typeof objects, codes?: number[]): ReturnType<typeof runTeardown>;
}

/** `o`: an interrupt signal, a hook run as each step starts (0-based), and a confirmation, for the gate's deps. */
function harness(
  o: { signal?: AbortSignal; onStep?: (i: number) => void; confirm?: (what: string) => Promise<boolean> } = {},
): Harness {
  const root = tmpDir();
  const h: Harness = {
    root,
    steps: [],
    lines: [],
    listed: 0,
    run: (opts = {}, listing = objects, codes = []) =>
      runTeardown(
        {
          ws,
          listLegacy: () => {
            h.listed++;
            return asStream(listing);
          },
          runner: async (step) => {
            h.steps.push(step);
            o.onStep?.(h.steps.length - 1);
            return { code: codes[h.steps.length - 1] ?? 0 };
          },
          out: (line) => h.lines.push(line),
          now: () => FIXED_NOW,
          processEnv: {},
          context: {},
          signal: o.signal,
          confirm: o.confirm,
        },
        {
          maxAgeMs: 24 * HOUR,
          minWindowMs: 7 * 24 * HOUR,
          maxGapMs: 15 * 60_000,
          dryRun: false,
          approvalValidMs: 24 * HOUR,
          approvedBy: 'release-manager@example.com',
          stateRoot: root,
          cwd: root,
          ...opts,
        },
      ),
  };
  return h;
}

const reportsDir = (root: string) => path.join(root, '.bucketmove', 'prod', 'reports');

/**
 * Writes a report into the env's reports folder, under the name the audit gives it; `tweak` edits the figures first.
 */
function report(
  root: string,
  o: { ageMs?: number; windowHours?: number; tweak?: (f: AuditFacts) => void } = {},
): string {
  const finishedAt = new Date(FIXED_NOW.getTime() - (o.ageMs ?? HOUR));
  const facts = cleanFacts(ws, objects, finishedAt, o.windowHours);
  o.tweak?.(facts);
  return writeReport(path.join(reportsDir(root), `audit-${finishedAt.toISOString().replace(/[-:]/g, '')}.json`), facts);
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TeardownRefusal);
  return (err as Error).message;
}

/** After a refusal: no approval, no synthesized stack, no Terraform step. */
function nothingDone(h: Harness): void {
  expect(h.steps).toEqual([]);
  expect(fs.existsSync(path.join(h.root, '.bucketmove', 'prod', 'teardown'))).toBe(false);
}

describe('the gate refuses, with the reason, and then does nothing', () => {
  test('without an audit report', async () => {
    const h = harness();
    expect(await refusal(h.run())).toMatch(
      /^refused: no audit report for prod in .*\.bucketmove\/prod\/reports; run `npm run audit -- --env prod` first/,
    );
    expect(await refusal(h.run({ reportPath: path.join(h.root, 'nope.json') }))).toMatch(
      /audit report .*nope\.json cannot be read \(ENOENT\)/,
    );
    expect(h.listed).toBe(0);
    nothingDone(h);
  });

  test('with a file that is not an audit report', async () => {
    const h = harness();
    const file = path.join(h.root, 'other.json');
    fs.writeFileSync(file, JSON.stringify({ tool: 'bucketmove migrate' }));
    expect(await refusal(h.run({ reportPath: file }))).toMatch(/is not a bucketmove audit report \(tool: /);
    nothingDone(h);
  });

  test('with a failing report (the newest one), naming why it failed', async () => {
    const h = harness();
    report(h.root, { ageMs: 2 * HOUR }); // an older, passing one does not count: the newest audit is the evidence
    report(h.root, {
      tweak: (f) => {
        f.counts.problemKeys = 2;
        f.counts.byKind.missing = 1;
        f.counts.byKind.quarantined = 1;
      },
    });
    expect(await refusal(h.run())).toBe('refused: the audit failed: 2 key(s) with problems (missing 1, quarantined 1)');
    expect(h.listed).toBe(0);
    nothingDone(h);
  });

  test('with a report whose verdict was edited to "passed"', async () => {
    const h = harness();
    const facts = cleanFacts(ws, objects, new Date(FIXED_NOW.getTime() - HOUR));
    facts.counts.problemKeys = 1;
    facts.counts.byKind['hash-mismatch'] = 1;
    const file = writeReport(path.join(h.root, 'edited.json'), facts, (r) => ({ ...r, passed: true, reasons: [] }));
    expect(await refusal(h.run({ reportPath: file }))).toMatch(
      /the audit report says it passed, but its figures say otherwise \(1 key\(s\) with problems \(hash-mismatch 1\)\)/,
    );
    nothingDone(h);
  });

  test('with a stale report (older than --max-age)', async () => {
    const h = harness();
    report(h.root, { ageMs: 25 * HOUR });
    expect(await refusal(h.run())).toBe(
      'refused: the audit report is stale: it finished 1d 1h ago, more than the 1d 0h allowed (--max-age); audit again',
    );
    nothingDone(h);
    await expect(h.run({ maxAgeMs: 26 * HOUR })).resolves.toMatchObject({ status: 'destroyed' });
  });

  test('with a report of another env and other buckets', async () => {
    const h = harness();
    const file = writeReport(
      path.join(h.root, 'staging.json'),
      cleanFacts(loadWorkspace('staging'), objects, new Date(FIXED_NOW.getTime() - HOUR)),
    );
    const msg = await refusal(h.run({ reportPath: file }));
    expect(msg).toContain('the audit report is for env "staging", not "prod"');
    expect(msg).toContain(`not ${ws.legacy.bucket} (account ${ws.legacy.accountId})`);
    nothingDone(h);
  });

  test('with fallback hits in the window', async () => {
    const h = harness();
    report(h.root, {
      tweak: (f) => {
        f.fallback = { ...f.fallback, hits: 3, lastHitAt: f.fallback.window.end, sampleKeys: ['chats/0001/photo.jpg'] };
      },
    });
    const msg = await refusal(h.run());
    expect(msg).toContain('the audit failed: 3 fallback hit(s) between');
    expect(msg).toMatch(/the audit counted 3 fallback hit\(s\) between .*: the app still reads from the legacy bucket/);
    nothingDone(h);
  });

  test("with heartbeats that leave a gap longer than the gate's own --max-gap, whatever the audit allowed", async () => {
    const h = harness();
    const file = report(h.root, {
      tweak: (f) => {
        const gapStart = new Date(Date.parse(f.fallback.window.start) + 3 * 24 * HOUR);
        const gap = {
          seconds: 7200,
          start: gapStart.toISOString(),
          end: new Date(gapStart.getTime() + 2 * HOUR).toISOString(),
        };
        // Audited with --max-gap 3h: the audit passed it.
        f.fallback.coverage = {
          ...f.fallback.coverage,
          coveredSeconds: f.fallback.coverage.coveredSeconds - 7200,
          largestGap: gap,
          maxGapSeconds: 3 * 3600,
        };
      },
    });
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).passed).toBe(true);
    expect(await refusal(h.run())).toMatch(
      /^refused: the fallback evidence does not cover its window: the heartbeats leave a gap of 2h 0m \(\S+ to \S+\), longer than the 15m 0s allowed \(--max-gap\): 34,560 heartbeats from 3 processes cover 7d 21h of the 8d 0h window; no process beat \(or its log was lost\) then$/,
    );
    nothingDone(h);
    await expect(h.run({ maxGapMs: 3 * HOUR })).resolves.toMatchObject({ status: 'destroyed' });
  });

  test('with a report edited to show heartbeats it did not have', async () => {
    const h = harness();
    const facts = cleanFacts(ws, objects, new Date(FIXED_NOW.getTime() - HOUR));
    facts.fallback.coverage = {
      ...facts.fallback.coverage,
      heartbeats: 0,
      processes: 0,
      byMode: {},
      coveredSeconds: 0,
      firstCoveredAt: undefined,
      lastCoveredAt: undefined,
    };
    const file = writeReport(path.join(h.root, 'edited.json'), facts, (r) => ({
      ...r,
      passed: true,
      reasons: [],
      summary: 'audit of prod PASSED',
    }));
    expect(await refusal(h.run({ reportPath: file }))).toMatch(
      /the audit report says it passed, but its figures say otherwise \(no heartbeats from the photo store in the 8d 0h window/,
    );
    nothingDone(h);
  });

  test('with a fallback window shorter than --min-window, or one that ends before the audit', async () => {
    const h = harness();
    report(h.root, { windowHours: 48 });
    expect(await refusal(h.run())).toBe(
      'refused: the fallback-hit window is 2d 0h, shorter than the 7d 0h required (--min-window); audit with a longer --since',
    );
    nothingDone(h);
    await expect(h.run({ minWindowMs: 48 * HOUR })).resolves.toMatchObject({ status: 'destroyed' });

    const h2 = harness();
    report(h2.root, {
      tweak: (f) => {
        const end = new Date(Date.parse(f.startedAt) - 2 * 24 * HOUR);
        f.fallback.window = {
          start: new Date(end.getTime() - 8 * 24 * HOUR).toISOString(),
          end: end.toISOString(),
          seconds: 8 * 24 * 3600,
        };
      },
    });
    expect(await refusal(h2.run())).toMatch(
      /the fallback-hit window ends at .*, before the audit ran .*: hits since then were not counted/,
    );
    nothingDone(h2);
  });

  test('when the legacy bucket changed since the audit (digest)', async () => {
    const h = harness();
    report(h.root);
    const added = [...objects, { key: 'chats/9999/late.jpg', etag: 'late', size: 5 }];
    expect(await refusal(h.run({}, added))).toMatch(
      /^refused: the legacy bucket changed since the audit: its listing digest is now sha256:[0-9a-f]{64} \(26 objects\), the audit saw sha256:[0-9a-f]{64} \(25 objects\); audit again$/,
    );
    const rewritten = objects.map((o, i) => (i === 7 ? { ...o, etag: 'rewritten' } : o));
    expect(await refusal(h.run({}, rewritten))).toContain('the legacy bucket changed since the audit');
    const removed = objects.slice(1);
    expect(await refusal(h.run({}, removed))).toContain('(24 objects)');
    expect(h.listed).toBe(3);
    nothingDone(h);
  });

  test('for an env without stacks (target s3-compatible): a bad input without --dry-run', async () => {
    const h = harness();
    await expect(
      runTeardown(
        {
          ws: loadWorkspace('local'),
          listLegacy: () => asStream(objects),
          runner: async () => ({ code: 0 }),
          out: () => undefined,
          now: () => FIXED_NOW,
        },
        {
          maxAgeMs: HOUR,
          minWindowMs: HOUR,
          maxGapMs: 15 * 60_000,
          dryRun: false,
          approvalValidMs: HOUR,
          approvedBy: 'x',
          stateRoot: h.root,
        },
      ),
    ).rejects.toThrow(
      new ConfigError(
        'env "local" has target "s3-compatible": it has no legacy stack to destroy (stacks exist for target "aws" only); --dry-run still checks the evidence',
      ),
    );
  });

  test('for an env without stacks, --dry-run checks the evidence, then says what a target "aws" env would run', async () => {
    const h = harness();
    const local = loadWorkspace('local');
    const finishedAt = new Date(FIXED_NOW.getTime() - HOUR);
    writeReport(
      path.join(
        h.root,
        '.bucketmove',
        'local',
        'reports',
        `audit-${finishedAt.toISOString().replace(/[-:]/g, '')}.json`,
      ),
      cleanFacts(local, objects, finishedAt),
    );
    const lines: string[] = [];
    const steps: Step[] = [];
    const result = await runTeardown(
      {
        ws: local,
        listLegacy: () => asStream(objects),
        runner: async (step) => (steps.push(step), { code: 0 }),
        out: (l) => lines.push(l),
        now: () => FIXED_NOW,
      },
      {
        maxAgeMs: 24 * HOUR,
        minWindowMs: 7 * 24 * HOUR,
        maxGapMs: 15 * 60_000,
        dryRun: true,
        approvalValidMs: HOUR,
        approvedBy: 'x',
        stateRoot: h.root,
        cwd: h.root,
      },
    );
    expect(result.status).toBe('dry-run');
    expect(steps).toEqual([]);
    const text = lines.join('\n');
    expect(text).toContain('legacy bucket chatapp-legacy-photos: unchanged since the audit (25 objects');
    expect(text).toContain('Env "local" has target "s3-compatible": it has no Terraform stack');
    expect(text).toContain('cdktf deploy then cdktf destroy legacy-<env>');
    expect(text).not.toContain('legacy-local'); // no such stack: never named as if it existed
    expect(text).toContain("1. Remove the legacy side from the app's environment");
    expect(fs.existsSync(path.join(h.root, '.bucketmove', 'local', 'teardown'))).toBe(false);
  });

  test('for an env without stacks, --dry-run still refuses a stale report', async () => {
    const h = harness();
    const local = loadWorkspace('local');
    const finishedAt = new Date(FIXED_NOW.getTime() - 48 * HOUR);
    writeReport(
      path.join(
        h.root,
        '.bucketmove',
        'local',
        'reports',
        `audit-${finishedAt.toISOString().replace(/[-:]/g, '')}.json`,
      ),
      cleanFacts(local, objects, finishedAt),
    );
    await expect(
      runTeardown(
        {
          ws: local,
          listLegacy: () => asStream(objects),
          runner: async () => ({ code: 0 }),
          out: () => undefined,
          now: () => FIXED_NOW,
        },
        {
          maxAgeMs: 24 * HOUR,
          minWindowMs: 7 * 24 * HOUR,
          maxGapMs: 15 * 60_000,
          dryRun: true,
          approvalValidMs: HOUR,
          approvedBy: 'x',
          stateRoot: h.root,
        },
      ),
    ).rejects.toBeInstanceOf(TeardownRefusal);
  });
});

describe('with a passing report', () => {
  const h = harness();
  let result: Awaited<ReturnType<typeof runTeardown>>;
  let reportFile: string;

  beforeAll(async () => {
    reportFile = report(h.root);
    result = await h.run();
  });

  test('writes the approval: this env and bucket, valid now, naming the report, the hash of its bytes and its listing digest', () => {
    const file = path.join(h.root, '.bucketmove', 'prod', 'teardown', 'approval.json');
    expect(result.approvalFile).toBe(file);
    const approval = readTeardownApproval(file);
    expect(approval).toEqual({
      env: 'prod',
      legacyBucket: ws.legacy.bucket,
      approvedAt: FIXED_NOW.toISOString(),
      expiresAt: new Date(FIXED_NOW.getTime() + 24 * HOUR).toISOString(),
      approvedBy: 'release-manager@example.com',
      auditReport: {
        path: `../reports/${path.basename(reportFile)}`, // from the approval's folder
        sha256: reportSha256(fs.readFileSync(reportFile)),
        listingDigest: JSON.parse(fs.readFileSync(reportFile, 'utf8')).legacyListing.digest,
      },
    });
    expect(() =>
      checkTeardownApproval(approval, { env: 'prod', legacyBucket: ws.legacy.bucket }, FIXED_NOW),
    ).not.toThrow();
    expect(checkApprovedReport(approval, file)).toBe(reportFile);
  });

  test('synthesizes legacy-prod carrying the approval: no prevent_destroy, force_destroy on, teardown_approved', () => {
    const json = result.synth!.json;
    expect(json.resource.aws_s3_bucket['legacy-bucket']).toMatchObject({
      bucket: ws.legacy.bucket,
      force_destroy: true,
      lifecycle: { prevent_destroy: false },
    });
    expect(json.resource.aws_iam_user['legacy-user']).toMatchObject({
      force_destroy: true,
      lifecycle: { prevent_destroy: false },
    });
    const keys = Object.values(json.resource.aws_iam_access_key ?? {}) as { lifecycle: { prevent_destroy: boolean } }[];
    expect(keys.length).toBe(ws.legacy.appUser.accessKeyIds.length);
    for (const key of keys) expect(key.lifecycle.prevent_destroy).toBe(false);
    expect(json.output.teardown_approved.value).toBe(true);
    expect(JSON.stringify(json)).not.toContain('"prevent_destroy":true');
    expect(result.synth!.stackDir).toBe(
      path.join(h.root, '.bucketmove', 'prod', 'teardown', 'cdktf.out', 'stacks', 'legacy-prod'),
    );
  });

  test('the synthesized stack passes terraform validate (offline)', async () => {
    const dir = result.synth!.stackDir;
    await mustTerraform(dir, ['init', '-backend=false', '-input=false']);
    const out = JSON.parse(await mustTerraform(dir, ['validate', '-json']));
    expect(out).toMatchObject({ valid: true, error_count: 0, warning_count: 0 });
  });

  test('runs cdktf deploy with the approval, then cdktf destroy, on exactly the synthesized output', () => {
    const outdir = path.join(h.root, '.bucketmove', 'prod', 'teardown', 'cdktf.out');
    const env = { BUCKETMOVE_TEARDOWN_APPROVAL: result.approvalFile, BUCKETMOVE_ENVS: 'prod' };
    expect(h.steps.map((s) => [path.basename(s.command), s.args, s.env, s.cwd])).toEqual([
      ['cdktf', ['deploy', 'legacy-prod', '--skip-synth', '--output', outdir, '--auto-approve'], env, h.root],
      ['cdktf', ['destroy', 'legacy-prod', '--skip-synth', '--output', outdir, '--auto-approve'], env, h.root],
    ]);
    expect(result.status).toBe('destroyed');
  });

  test('prints what is left for people, and records the teardown', () => {
    const text = h.lines.join('\n');
    expect(text).toContain('legacy-prod is destroyed. Left for people:');
    expect(text).toMatch(/1\. Remove the legacy side from the app's environment .*PHOTO_STORE_TOMBSTONES=false/);
    expect(text).toMatch(/2\. Delete the legacy keys' secrets/);
    expect(text).toMatch(/3\. Delete the codec's key: the Secrets Manager secret "[^"]+"/);
    expect(text).toMatch(new RegExp(`4\\. Close the legacy account ${ws.legacy.accountId}`));
    const record = JSON.parse(fs.readFileSync(result.record!, 'utf8'));
    expect(record).toMatchObject({
      tool: 'bucketmove teardown',
      env: 'prod',
      outcome: 'destroyed',
      listingDigest: result.listingDigest,
    });
    expect(record.steps.map((s: { exitCode: number }) => s.exitCode)).toEqual([0, 0]);
  });
});

describe('--dry-run', () => {
  test('runs terraform init + plan -destroy on the approved stack, and keeps no approval', async () => {
    const h = harness();
    report(h.root);
    const out = path.join(h.root, 'inspect');
    const result = await h.run({ dryRun: true, outdir: out });
    expect(result.status).toBe('dry-run');
    const stackDir = path.join(out, 'stacks', 'legacy-prod');
    expect(h.steps.map((s) => [path.basename(s.command), s.args, s.cwd])).toEqual([
      ['terraform', ['init', '-input=false'], stackDir],
      ['terraform', ['plan', '-destroy', '-input=false'], stackDir],
    ]);
    expect(
      JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')).resource.aws_s3_bucket['legacy-bucket']
        .force_destroy,
    ).toBe(true);
    expect(fs.existsSync(path.join(h.root, '.bucketmove', 'prod', 'teardown'))).toBe(false);
    expect(result.approvalFile).toBeUndefined();
    expect(fs.readdirSync(reportsDir(h.root)).filter((n) => n.startsWith('teardown-'))).toEqual([]);
    const text = h.lines.join('\n');
    expect(text).toContain('dry run: nothing was changed. Without --dry-run the gate writes the approval and runs:');
    expect(text).toMatch(
      /BUCKETMOVE_TEARDOWN_APPROVAL=\S+approval\.json BUCKETMOVE_ENVS=prod \S*cdktf destroy legacy-prod --skip-synth/,
    );
  });

  test('without --out, the synthesized folder is temporary too', async () => {
    const h = harness();
    report(h.root);
    const result = await h.run({ dryRun: true });
    expect(result.status).toBe('dry-run');
    expect(fs.existsSync(result.synth!.outdir)).toBe(false);
  });
});

describe('when a Terraform step fails, or the operator declines', () => {
  test('a failed deploy stops before the destroy', async () => {
    const h = harness();
    report(h.root);
    const result = await h.run({}, objects, [1]);
    expect(result.status).toBe('failed');
    expect(h.steps.map((s) => s.args[0])).toEqual(['deploy']);
    expect(h.lines.join('\n')).toContain('teardown stopped: the deploy failed (exit 1); nothing was destroyed.');
    // The stacks keep state in Terraform Cloud (processEnv sets no backend): the last line names the local backend.
    expect(h.lines.at(-1)).toMatch(
      /^the stacks keep their state in Terraform Cloud: .*BUCKETMOVE_BACKEND=local npm run teardown -- \.\.\.$/,
    );
  });

  test('a failed destroy says how to finish it by hand with the approval', async () => {
    const h = harness();
    report(h.root);
    const result = await h.run({}, objects, [0, 1]);
    expect(result.status).toBe('failed');
    expect(h.lines.join('\n')).toMatch(
      /the destroy failed \(exit 1\) after the approved deploy\. The approval \S+approval\.json stays valid until .*: finish with\n {2}\$ BUCKETMOVE_TEARDOWN_APPROVAL=/,
    );
  });

  test('a declined confirmation writes nothing', async () => {
    const h = harness();
    report(h.root);
    let asked = '';
    const result = await runTeardown(
      {
        ws,
        listLegacy: () => asStream(objects),
        runner: async () => ({ code: 0 }),
        out: () => undefined,
        now: () => FIXED_NOW,
        confirm: async (what) => {
          asked = what;
          return false;
        },
        processEnv: {},
        context: {},
      },
      {
        maxAgeMs: 2 * HOUR,
        minWindowMs: HOUR,
        maxGapMs: 15 * 60_000,
        dryRun: false,
        approvalValidMs: HOUR,
        approvedBy: 'x',
        stateRoot: h.root,
        cwd: h.root,
      },
    );
    expect(result.status).toBe('declined');
    expect(asked).toBe(
      `destroy legacy-prod: the legacy bucket ${ws.legacy.bucket} with its 25 objects, the legacy user ${ws.legacy.appUser.name} and its access keys, and the reader role`,
    );
    nothingDone(h);
  });
});

describe('interrupted (Ctrl-C, SIGTERM): the gate stops at its next boundary', () => {
  const record = (file: string | undefined) =>
    JSON.parse(fs.readFileSync(file!, 'utf8')) as { outcome: string; steps: { exitCode: number }[] };

  test('Ctrl-C during the deploy (Terraform stops, exit 1): no destroy; interrupted, not failed; the record says so', async () => {
    const interrupt = new AbortController();
    const h = harness({ signal: interrupt.signal, onStep: (i) => i === 0 && interrupt.abort() });
    report(h.root);
    const result = await h.run({}, objects, [1]);
    expect(result.status).toBe('interrupted');
    expect(h.steps.map((s) => s.args[0])).toEqual(['deploy']);
    expect(h.lines.join('\n')).toContain(
      'teardown interrupted during the deploy (exit 1); nothing was destroyed. Run the gate again, or, while the approval',
    );
    expect(record(result.record)).toMatchObject({ outcome: 'interrupted', steps: [{ exitCode: 1 }] });
  });

  test('SIGTERM during the deploy (which finishes): the destroy does not start; the line says how to finish', async () => {
    const interrupt = new AbortController();
    const h = harness({ signal: interrupt.signal, onStep: (i) => i === 0 && interrupt.abort() });
    report(h.root);
    const result = await h.run();
    expect(result.status).toBe('interrupted');
    expect(h.steps.map((s) => s.args[0])).toEqual(['deploy']);
    expect(h.lines.join('\n')).toMatch(
      /teardown interrupted after the deploy, before the destroy; nothing was destroyed\. .*finish with\n {2}\$ BUCKETMOVE_TEARDOWN_APPROVAL=\S+ BUCKETMOVE_ENVS=prod \S*cdktf destroy legacy-prod/,
    );
    expect(record(result.record)).toMatchObject({ outcome: 'interrupted', steps: [{ exitCode: 0 }] });
  });

  test('interrupted during the last step, which succeeded: destroyed (the work is done)', async () => {
    const interrupt = new AbortController();
    const h = harness({ signal: interrupt.signal, onStep: (i) => i === 1 && interrupt.abort() });
    report(h.root);
    expect((await h.run()).status).toBe('destroyed');
  });

  test('Ctrl-C at the confirmation: nothing written or run', async () => {
    const interrupt = new AbortController();
    const h = harness({
      signal: interrupt.signal,
      confirm: async () => {
        interrupt.abort();
        return false;
      },
    });
    report(h.root);
    const result = await h.run();
    expect(result.status).toBe('interrupted');
    expect(h.lines.at(-1)).toBe('interrupted: nothing was written or changed');
    nothingDone(h);
  });

  test('a dry run interrupted during its init: no plan, nothing kept', async () => {
    const interrupt = new AbortController();
    const h = harness({ signal: interrupt.signal, onStep: (i) => i === 0 && interrupt.abort() });
    report(h.root);
    const result = await h.run({ dryRun: true }, objects, [1]);
    expect(result.status).toBe('interrupted');
    expect(h.steps.map((s) => s.args[0])).toEqual(['init']);
    expect(h.lines.at(-1)).toBe('dry run interrupted: nothing was changed');
    expect(fs.existsSync(result.synth!.outdir)).toBe(false);
  });
});
