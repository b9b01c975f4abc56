/**
 * Synthesizes the legacy stack with the teardown approved, in this process (stacks/app.ts, as main.ts does), into an
 * output folder that `cdktf deploy/destroy --skip-synth` then runs from, so what is deployed and destroyed is exactly
 * what was checked here: no `prevent_destroy`, `force_destroy` on the bucket and the user, `teardown_approved` true.
 *
 * The state backend comes from BUCKETMOVE_BACKEND or the cdktf context (cdktf.json), as for `cdktf synth`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdktf';
import { ConfigError } from '../../../workspaces/errors';
import { addStacks, ENV_VARS, resolveSynthOptions } from '../../../stacks/app';

// Synthesized Terraform JSON, walked by path: any shape at any depth.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type TfJson = Record<string, any>;

export interface SynthResult {
  readonly outdir: string;
  /** The folder of legacy-<env>'s cdk.tf.json (a Terraform root). */
  readonly stackDir: string;
  readonly stack: string;
  readonly json: TfJson;
  readonly backend: string;
}

/** The `context` of cdktf.json in the working folder (what `cdktf synth` would pass the app), if any. */
export function cdktfContext(cwd = process.cwd()): Record<string, unknown> {
  const file = path.join(cwd, 'cdktf.json');
  if (!fs.existsSync(file)) return {};
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
    return parsed.context ?? {};
  } catch (err) {
    throw new ConfigError(`cdktf.json: not valid JSON (${(err as Error).message})`);
  }
}

/** Empties an output folder the gate wrote before; refuses to touch a folder that is not a cdktf output. */
function freshOutdir(outdir: string): void {
  if (fs.existsSync(outdir)) {
    const entries = fs.readdirSync(outdir);
    if (entries.length && !entries.includes('manifest.json')) {
      throw new ConfigError(`${outdir} is not empty and holds no cdktf output (manifest.json); give another --out`);
    }
    fs.rmSync(outdir, { recursive: true, force: true });
  }
  fs.mkdirSync(outdir, { recursive: true });
}

export function synthApprovedLegacyStack(args: {
  env: string;
  approvalFile: string;
  outdir: string;
  workspacesDir?: string;
  now: Date;
  /** The process environment and cdktf context the backend setting is read from. */
  processEnv?: NodeJS.ProcessEnv;
  context?: Record<string, unknown>;
}): SynthResult {
  const processEnv = args.processEnv ?? process.env;
  const context = args.context ?? cdktfContext();
  const preset =
    processEnv[ENV_VARS.teardownApproval]?.trim() ||
    (typeof context.teardownApproval === 'string' ? context.teardownApproval : undefined);
  if (preset && path.resolve(preset) !== path.resolve(args.approvalFile)) {
    throw new ConfigError(
      `${ENV_VARS.teardownApproval} (or cdktf context "teardownApproval") names ${preset}: unset it, the gate writes and uses its own approval`,
    );
  }
  freshOutdir(args.outdir);
  const app = new App({ outdir: args.outdir, stackTraces: false, context });
  const { backend } = resolveSynthOptions(app, processEnv);
  // Only legacy-<env>: the primary stack is not deployed here (and would need the Batch Operations bundle built).
  addStacks(app, {
    envs: [args.env],
    backend,
    approvalFile: args.approvalFile,
    workspacesDir: args.workspacesDir,
    now: args.now,
    legacyOnly: true,
  });
  app.synth();
  const stack = `legacy-${args.env}`;
  const stackDir = path.join(args.outdir, 'stacks', stack);
  const json = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as TfJson;
  assertApproved(json, stack);
  return { outdir: args.outdir, stackDir, stack, json, backend };
}

/** Throws unless the synthesized stack carries the approval on every imported resource. */
export function assertApproved(json: TfJson, stack: string): void {
  const problems: string[] = [];
  const resources = (type: string): [string, TfJson][] =>
    Object.entries((json.resource?.[type] ?? {}) as Record<string, TfJson>);
  const bucket = resources('aws_s3_bucket');
  const user = resources('aws_iam_user');
  if (!bucket.length) problems.push('no legacy bucket');
  if (!user.length) problems.push('no legacy user');
  for (const [name, r] of [...bucket, ...user]) {
    if (r.force_destroy !== true) problems.push(`${name}: force_destroy is not true`);
  }
  for (const [name, r] of [...bucket, ...user, ...resources('aws_iam_access_key')]) {
    if (r.lifecycle?.prevent_destroy !== false) problems.push(`${name}: prevent_destroy is still set`);
  }
  if (json.output?.teardown_approved?.value !== true) problems.push('output teardown_approved is not true');
  if (problems.length)
    throw new Error(`the synthesized ${stack} does not carry the teardown approval (${problems.join(', ')})`);
}
