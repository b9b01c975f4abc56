/**
 * Builds the cdktf app: `primary-<env>` and `legacy-<env>` for every workspace whose target is "aws".
 *
 * Inputs, each from an environment variable or the cdktf context (cdktf.json "context"); when both are set they must
 * agree (a safety input must never be ambiguous):
 * - BUCKETMOVE_ENVS / context `envs`: a comma-separated subset of envs to synthesize (default: every "aws" workspace).
 * - BUCKETMOVE_BACKEND / context `backend`: "cloud" (default, Terraform Cloud) or "local" (backend.ts).
 * - BUCKETMOVE_TEARDOWN_APPROVAL / context `teardownApproval`: path of a teardown approval file (approval.ts).
 * - BUCKETMOVE_LAMBDA_BUNDLE / context `lambdaBundle`: the folder of the built Batch Operations bundle (default
 *   dist/lambda/batch-copy, which `npm run build:lambda` writes); needed only when a workspace enables batchOperations.
 * - BUCKETMOVE_KEY_ROTATION_BUNDLE / context `keyRotationBundle`: the folder of the built key rotation bundle (default
 *   dist/lambda/key-rotation); needed only when a workspace schedules its key rotation.
 *
 * Every input is read and checked before the first stack is built, so a mistake leaves nothing half-synthesized.
 */
import * as path from 'path';
import type { App } from 'cdktf';
import {
  checkWorkspacesTogether,
  displayPath,
  listEnvs,
  loadWorkspace,
  workspacesDir,
  type LoadedWorkspace,
} from '../workspaces/load';
import { ConfigError } from '../workspaces/errors';
import { checkApprovedReport, checkTeardownApproval, readTeardownApproval, type TeardownApproval } from './approval';
import { parseBackendKind, type BackendKind } from './backend';
import {
  checkLambdaBundle,
  defaultKeyRotationBundleDir,
  defaultLambdaBundleDir,
  LAMBDA_RUNTIME,
} from './lambda-bundle';
import { keyRotationOf } from '../workspaces/schema';
import { checkRuntime } from './lambda-runtimes';
import { LegacyStack } from './legacy-stack';
import { PrimaryStack } from './primary-stack';

export interface SynthOptions {
  /** Envs to synthesize; undefined = every workspace with target "aws". */
  envs?: string[];
  backend: BackendKind;
  /** Path of a teardown approval file, if any. */
  approvalFile?: string;
  /** Folder of the workspace files (default: workspaces/, or BUCKETMOVE_WORKSPACES_DIR). */
  workspacesDir?: string;
  /** The time approvals and the Lambda runtime's dates are checked against. */
  now?: Date;
  /** Where synth's warnings go, one line each (default: stderr, as `bucketmove: warning: ...`). */
  warn?: (line: string) => void;
  /** The built Batch Operations bundle (default: dist/lambda/batch-copy, written by `npm run build:lambda`). */
  lambdaBundleDir?: string;
  /** The built key rotation bundle (default: dist/lambda/key-rotation, written by `npm run build:lambda`). */
  keyRotationBundleDir?: string;
  /** Only the legacy stacks (the teardown gate): no primary stack, so no function bundle is needed. */
  legacyOnly?: boolean;
}

export const ENV_VARS = {
  envs: 'BUCKETMOVE_ENVS',
  backend: 'BUCKETMOVE_BACKEND',
  teardownApproval: 'BUCKETMOVE_TEARDOWN_APPROVAL',
  lambdaBundle: 'BUCKETMOVE_LAMBDA_BUNDLE',
  keyRotationBundle: 'BUCKETMOVE_KEY_ROTATION_BUNDLE',
} as const;

/** Reads the synth inputs from the environment and the app's context. */
export function resolveSynthOptions(app: App, env: NodeJS.ProcessEnv = process.env): SynthOptions {
  const envs = setting(app, env, 'envs');
  const backend = setting(app, env, 'backend');
  const approval = setting(app, env, 'teardownApproval');
  const bundle = setting(app, env, 'lambdaBundle');
  const rotationBundle = setting(app, env, 'keyRotationBundle');
  return {
    envs: envs === undefined ? undefined : parseEnvList(envs.value, envs.source),
    backend: backend === undefined ? 'cloud' : parseBackendKind(backend.value, backend.source),
    approvalFile: approval?.value,
    lambdaBundleDir: bundle === undefined ? undefined : path.resolve(bundle.value),
    keyRotationBundleDir: rotationBundle === undefined ? undefined : path.resolve(rotationBundle.value),
  };
}

function setting(
  app: App,
  env: NodeJS.ProcessEnv,
  key: keyof typeof ENV_VARS,
): { value: string; source: string } | undefined {
  const name = ENV_VARS[key];
  const fromEnv = env[name]?.trim() || undefined;
  const ctx: unknown = app.node.tryGetContext(key);
  let fromContext: string | undefined;
  if (Array.isArray(ctx) && ctx.every((v) => typeof v === 'string')) fromContext = ctx.join(',');
  else if (typeof ctx === 'string') fromContext = ctx.trim() || undefined;
  else if (ctx !== undefined && ctx !== null)
    throw new ConfigError(`cdktf context "${key}": must be a string (got ${JSON.stringify(ctx)})`);
  if (fromEnv !== undefined && fromContext !== undefined && fromEnv !== fromContext) {
    throw new ConfigError(`${name}="${fromEnv}" and cdktf context "${key}"="${fromContext}" disagree; set only one`);
  }
  if (fromEnv !== undefined) return { value: fromEnv, source: name };
  if (fromContext !== undefined) return { value: fromContext, source: `cdktf context "${key}"` };
  return undefined;
}

function parseEnvList(value: string, source: string): string[] {
  const envs = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!envs.length) throw new ConfigError(`${source}: names no env; give a comma-separated list such as "dev,prod"`);
  return [...new Set(envs)];
}

export interface BuiltStacks {
  primary: PrimaryStack[];
  legacy: LegacyStack[];
  workspaces: LoadedWorkspace[];
}

/** Loads and checks every input, then adds the stacks to `app`. Throws ConfigError (one line) on bad input. */
export function addStacks(app: App, options: SynthOptions): BuiltStacks {
  const dir = options.workspacesDir ?? workspacesDir();
  const requested = options.envs;
  // Every workspace file is loaded and checked against the others (a dev bucket equal to prod's is refused even when
  // only dev is synthesized), then the requested envs are picked.
  const all = listEnvs(dir).map((env) => loadWorkspace(env, dir));
  checkWorkspacesTogether(all);
  const workspaces = requested
    ? requested.map((env) => all.find((ws) => ws.env === env) ?? loadWorkspace(env, dir))
    : all;
  const aws = workspaces.filter((ws) => ws.target === 'aws');
  if (requested) {
    const other = workspaces.find((ws) => ws.target !== 'aws');
    if (other) {
      throw new ConfigError(
        `env "${other.env}" has target "${other.target}": stacks are synthesized only for target "aws"; remove it from ${ENV_VARS.envs}`,
      );
    }
  }
  if (!aws.length) throw new ConfigError(`no workspace in ${dir} has target "aws": nothing to synthesize`);

  const now = options.now ?? new Date();
  const approval = options.approvalFile ? readApprovalFor(options.approvalFile, aws, now) : undefined;
  const withBatch = aws.filter((ws) => ws.batchOperations.enabled).map((ws) => ws.env);
  const withRotation = aws.filter((ws) => keyRotationOf(ws).schedule).map((ws) => ws.env);
  const lambdaBundleDir = options.lambdaBundleDir ?? defaultLambdaBundleDir();
  const keyRotationBundleDir = options.keyRotationBundleDir ?? defaultKeyRotationBundleDir();
  if (!options.legacyOnly) {
    // A function AWS would refuse to create stops the synth here, before any stack is built.
    const functions = [
      ...(withBatch.length ? [`the Batch Operations function (${withBatch.join(', ')})`] : []),
      ...(withRotation.length ? [`the key rotation function (${withRotation.join(', ')})`] : []),
    ];
    const warning = functions.length ? checkRuntime(LAMBDA_RUNTIME, now, functions.join(' and ')) : undefined;
    if (warning) (options.warn ?? warnOnStderr)(warning);
    if (withBatch.length) checkLambdaBundle(lambdaBundleDir, withBatch);
    if (withRotation.length) checkLambdaBundle(keyRotationBundleDir, withRotation, 'the key rotation is scheduled for');
  }

  const built: BuiltStacks = { primary: [], legacy: [], workspaces: aws };
  for (const ws of aws) {
    if (!options.legacyOnly) {
      built.primary.push(
        new PrimaryStack(app, `primary-${ws.env}`, ws, {
          backend: options.backend,
          lambdaBundleDir,
          keyRotationBundleDir,
        }),
      );
    }
    built.legacy.push(
      new LegacyStack(app, `legacy-${ws.env}`, ws, {
        backend: options.backend,
        approval: approval && approval.env === ws.env ? approval : undefined,
      }),
    );
  }
  return built;
}

function warnOnStderr(line: string): void {
  process.stderr.write(`bucketmove: warning: ${line}\n`);
}

/**
 * The approval applies to the one env it names; that env must be among those synthesized and must match, and the
 * audit report it names must still be the passing one it was written for.
 */
function readApprovalFor(file: string, aws: LoadedWorkspace[], now: Date): TeardownApproval {
  const approval = readTeardownApproval(file);
  const where = displayPath(file);
  const ws = aws.find((w) => w.env === approval.env);
  if (!ws) {
    throw new ConfigError(
      `teardown approval ${where}: env: "${approval.env}" is not among the envs being synthesized (${aws.map((w) => w.env).join(', ')})`,
    );
  }
  checkTeardownApproval(approval, { env: ws.env, legacyBucket: ws.legacy.bucket }, now, where);
  checkApprovedReport(approval, file);
  return approval;
}
