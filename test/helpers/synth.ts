/**
 * Synthesizes the real app (stacks/app.ts, as main.ts does) into a temp folder and reads back each stack's
 * `cdk.tf.json`: the exact files `cdktf synth` writes and Terraform runs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdktf';
import { addStacks, type SynthOptions } from '../../stacks/app';
import { reportSha256 } from '../../workspaces/audit-verdict';
import { loadWorkspace } from '../../workspaces/load';
import { cleanFacts, legacyObjects, writeReport } from './audit-report';
import { testKeyRotationBundleDir, testLambdaBundleDir } from './lambda-bundle';

export type TfJson = Record<string, any>;

export interface Synthesized {
  outdir: string;
  /** stack name -> the parsed cdk.tf.json */
  stacks: Map<string, TfJson>;
  /** stack name -> the folder holding its cdk.tf.json */
  dirs: Map<string, string>;
}

/** A fixed "now" for approval checks, so the tests never depend on the clock. */
export const FIXED_NOW = new Date('2025-06-01T12:00:00Z');

export function synthApp(options: Partial<SynthOptions> = {}): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-synth-'));
  const app = new App({ outdir, stackTraces: false });
  addStacks(app, {
    backend: 'cloud',
    now: FIXED_NOW,
    lambdaBundleDir: testLambdaBundleDir(),
    keyRotationBundleDir: testKeyRotationBundleDir(),
    ...options,
  });
  app.synth();
  const stacks = new Map<string, TfJson>();
  const dirs = new Map<string, string>();
  for (const name of fs.readdirSync(path.join(outdir, 'stacks')).sort()) {
    const dir = path.join(outdir, 'stacks', name);
    dirs.set(name, dir);
    stacks.set(name, JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')));
  }
  return { outdir, stacks, dirs };
}

export function get<T = TfJson>(map: Map<string, T>, key: string): T {
  const value = map.get(key);
  if (value === undefined) throw new Error(`no "${key}" (have: ${[...map.keys()].join(', ')})`);
  return value;
}

/** A scratch folder removed by `cleanup`. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bucketmove-${prefix}-`));
}

export function cleanup(...dirs: (string | undefined)[]): void {
  for (const dir of dirs) if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A hand-written teardown approval for a workspace, valid at FIXED_NOW unless overridden. Its audit report does not
 * exist: synth refuses it (writeApprovedTeardown writes one bound to a real report).
 */
export function approvalFor(env: string, legacyBucket: string, overrides: Record<string, unknown> = {}) {
  return {
    env,
    legacyBucket,
    approvedAt: '2025-06-01T09:00:00Z',
    expiresAt: '2025-06-02T09:00:00Z',
    approvedBy: 'release-manager@example.com',
    auditReport: {
      path: `reports/audit-${env}.json`,
      sha256: `sha256:${'cd'.repeat(32)}`,
      listingDigest: `sha256:${'ab'.repeat(32)}`,
    },
    ...overrides,
  };
}

/**
 * A teardown approval as the gate writes it, valid at FIXED_NOW: bound to a passing audit report of the workspace
 * (finished at 08:30, half an hour before the approval) written beside it as reports/audit-<env>.json. `edit` may
 * change the approval. Returns the approval file and the report file.
 */
export function writeApprovedTeardown(
  dir: string,
  env: string,
  edit: (a: ReturnType<typeof approvalFor>) => unknown = (a) => a,
): { approvalFile: string; reportFile: string } {
  const ws = loadWorkspace(env);
  const reportFile = writeReport(
    path.join(dir, 'reports', `audit-${env}.json`),
    cleanFacts(ws, legacyObjects(25), new Date('2025-06-01T08:30:00Z')),
  );
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { legacyListing: { digest: string } };
  const approval = approvalFor(env, ws.legacy.bucket);
  approval.auditReport = {
    path: `reports/audit-${env}.json`,
    sha256: reportSha256(fs.readFileSync(reportFile)),
    listingDigest: report.legacyListing.digest,
  };
  const approvalFile = path.join(dir, 'approval.json');
  fs.writeFileSync(approvalFile, JSON.stringify(edit(approval)));
  return { approvalFile, reportFile };
}
