/**
 * The one loader of workspace files, used by main.ts (the stacks) and by the migrator's commands.
 * Every problem becomes a ConfigError whose message is one line naming the file and the field.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { z } from 'zod';
import { accessLogsOf, ENV_NAME, keyRotationOf, workspaceSchema, type Workspace } from './schema';

import { ConfigError } from './errors';

export type { Workspace } from './schema';

/**
 * The repository's root: the nearest folder above this module that holds cdktf.json. The same from the sources and
 * from their compiled copy in dist/, so paths to the workspace files, the rig state and reports do not depend on it.
 */
export function repoRoot(from = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'cdktf.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..');
  }
}

/** The folder of the workspace files: workspaces/ at the repository root, unless BUCKETMOVE_WORKSPACES_DIR says. */
export function workspacesDir(): string {
  return path.resolve(process.env.BUCKETMOVE_WORKSPACES_DIR ?? path.join(repoRoot(), 'workspaces'));
}

/** The env names that have a workspace file, sorted. */
export function listEnvs(dir = workspacesDir()): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .filter((name) => ENV_NAME.test(name))
    .sort();
}

export interface LoadedWorkspace extends Workspace {
  /** The absolute path of the file it came from. */
  readonly file: string;
}

export function loadWorkspace(env: string, dir = workspacesDir()): LoadedWorkspace {
  const known = fs.existsSync(dir) ? listEnvs(dir) : [];
  if (!ENV_NAME.test(env) || !known.includes(env)) {
    throw new ConfigError(
      `unknown env "${env}": there is no ${displayPath(path.join(dir, `${env}.json`))} (known envs: ${known.join(', ') || 'none'})`,
    );
  }
  const file = path.join(dir, `${env}.json`);
  return parseWorkspace(fs.readFileSync(file, 'utf8'), file, env);
}

/** Validates the text of a workspace file. `file` names it in errors; the env must match the file name. */
export function parseWorkspace(text: string, file: string, env = path.basename(file, '.json')): LoadedWorkspace {
  const where = displayPath(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: not valid JSON (${(err as Error).message}); fix the syntax and retry`);
  }
  const parsed = workspaceSchema.safeParse(raw);
  if (!parsed.success) {
    const [first, ...rest] = parsed.error.issues;
    const more = rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
    throw new ConfigError(`${where}: ${describeIssue(first, raw)}${more}`);
  }
  if (parsed.data.env !== env) {
    throw new ConfigError(`${where}: env: must be "${env}" to match the file name (got "${parsed.data.env}")`);
  }
  return { ...parsed.data, file: path.resolve(file) };
}

/**
 * Validates a workspace given as JSON text rather than a file (the Batch Operations function reads it from an
 * environment variable). `origin` names it in errors; relative paths in it (a codec plug-in) resolve from the working
 * folder.
 */
export function parseWorkspaceJson(text: string, origin: string): LoadedWorkspace {
  let env: unknown;
  try {
    env = (JSON.parse(text) as { env?: unknown })?.env;
  } catch (err) {
    throw new ConfigError(`${origin}: not valid JSON (${(err as Error).message}); give the workspace file's content`);
  }
  const ws = parseWorkspace(text, origin, typeof env === 'string' ? env : '');
  return { ...ws, file: path.resolve(`${ws.env}.json`) };
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `${field ? `${field}.` : ''}${k}`);
    return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}: remove or correct ${keys.length > 1 ? 'them' : 'it'}`;
  }
  const value = valueAt(raw, issue.path);
  if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    return `${field}: is missing`;
  }
  if (issue.code === 'invalid_union' && issue.errors.length && value !== null && typeof value === 'object') {
    // Name the alternative that came closest (for key sources: {"env": NAME} or {"secretsManager": ID}).
    const best =
      issue.errors.map((errs) => errs[0]).find((e) => e && e.code !== 'unrecognized_keys') ?? issue.errors[0][0];
    if (best) return describeIssue({ ...best, path: [...issue.path, ...best.path] } as z.core.$ZodIssue, raw);
  }
  return `${field || '(top level)'}: ${issue.message}`;
}

/** The value at a zod issue's path in the raw input (undefined when absent). */
export function valueAt(raw: unknown, at: PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of at) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** A path as the user would type it: relative to the working folder when inside it. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

/** One name a workspace gives to something that must be unique across environments. */
interface Claim {
  readonly ws: LoadedWorkspace;
  /** The workspace field, e.g. "primary.bucket". */
  readonly field: string;
  /** What is named, e.g. 'bucket', 'IAM role'. */
  readonly kind: string;
  /** Where the name must be unique, e.g. 'account 210987654321' ('' for S3 bucket names, which are global). */
  readonly scope: string;
  readonly name: string;
}

/** What each "aws" workspace names that no other environment (nor another field of its own) may name too. */
function claimsOf(ws: LoadedWorkspace): Claim[] {
  const claims: Claim[] = [];
  const claim = (field: string, kind: string, scope: string, name: string | undefined) => {
    if (name !== undefined) claims.push({ ws, field, kind, scope, name });
  };
  const primary = `account ${ws.primary.accountId}`;
  const legacy = `account ${ws.legacy.accountId}`;
  claim('primary.bucket', 'bucket', '', ws.primary.bucket);
  claim('legacy.bucket', 'bucket', '', ws.legacy.bucket);
  const logs = accessLogsOf(ws);
  claim('primary.accessLogs.bucket', 'bucket', '', logs?.bucket);
  if (logs?.type === 'cloudtrail')
    claim('primary.accessLogs.trailName', 'CloudTrail trail', `${primary} ${ws.region}`, logs.trailName);
  claim('primary.appUser.name', 'IAM user', primary, ws.primary.appUser.name);
  claim('primary.devUser.name', 'IAM user', primary, ws.primary.devUser?.name);
  claim('primary.writerRoleName', 'IAM role', primary, ws.primary.writerRoleName);
  claim('legacy.readerRoleName', 'IAM role', legacy, ws.legacy.readerRoleName);
  claim('legacy.appUser.name', 'IAM user', legacy, ws.legacy.appUser.name);
  const rotation = keyRotationOf(ws);
  if (rotation.schedule) {
    claim('primary.keyRotation.functionRoleName', 'IAM role', primary, rotation.functionRoleName);
    claim('primary.keyRotation.functionName', 'Lambda function', `${primary} ${ws.region}`, rotation.functionName);
  }
  if (ws.batchOperations.enabled) {
    const b = ws.batchOperations;
    claim('batchOperations.functionRoleName', 'IAM role', primary, b.functionRoleName);
    claim('batchOperations.operationsRoleName', 'IAM role', primary, b.operationsRoleName);
    claim('batchOperations.functionName', 'Lambda function', `${primary} ${ws.region}`, b.functionName);
  }
  if (ws.gateway.enabled) claim('gateway.roleName', 'IAM role', primary, ws.gateway.roleName);
  const tfc = ws.terraformCloud;
  if (tfc) {
    const org = `organization "${tfc.organization}"`;
    claim('terraformCloud.workspaces.primary', 'Terraform Cloud workspace', org, tfc.workspaces.primary);
    claim('terraformCloud.workspaces.legacy', 'Terraform Cloud workspace', org, tfc.workspaces.legacy);
    tfc.app?.workspaces.forEach((name, i) =>
      claim(`terraformCloud.app.workspaces[${i}]`, 'Terraform Cloud workspace', org, name),
    );
  }
  return claims;
}

function why(kind: string): string {
  switch (kind) {
    case 'bucket':
      return 'each environment needs buckets of its own';
    case 'Terraform Cloud workspace':
      return 'two stacks would share one state and undo each other';
    default:
      return 'two stacks would manage (and destroy) the same one';
  }
}

/**
 * The checks across environments, made when the workspaces are loaded together (the stacks are synthesized from all
 * of them): no two environments may name the same bucket, Terraform Cloud workspace, or IAM role, IAM user or Lambda
 * function in one account; and dev's bucket must not be another environment's (the dev user's key, shared with
 * developers, would reach that environment's photos). Only workspaces with target "aws" are compared (an S3-compatible
 * target has buckets and accounts of its own). Throws a one-line ConfigError for the first clash (and counts the rest).
 */
export function checkWorkspacesTogether(workspaces: readonly LoadedWorkspace[]): void {
  const problems: string[] = [];
  const seen = new Map<string, Claim>();
  for (const c of workspaces.filter((ws) => ws.target === 'aws').flatMap(claimsOf)) {
    const id = `${c.kind}\u0000${c.scope}\u0000${c.name}`;
    const first = seen.get(id);
    if (!first) {
      seen.set(id, c);
      continue;
    }
    const [dev, other] = first.ws.env === 'dev' ? [first, c] : [c, first];
    if (c.kind === 'bucket' && dev.ws.env === 'dev' && dev.field === 'primary.bucket' && other.ws.env !== 'dev') {
      problems.push(
        `${displayPath(dev.ws.file)}: primary.bucket "${c.name}" is ${other.ws.env}'s bucket (${other.field} of ${displayPath(other.ws.file)}): the dev user's shared key would reach ${other.ws.env}'s photos; give dev a bucket of its own`,
      );
      continue;
    }
    const where = (x: Claim) => (x.ws === c.ws && x.ws === first.ws ? x.field : `${displayPath(x.ws.file)} ${x.field}`);
    const scope = c.scope ? ` in ${c.scope}` : '';
    const subject =
      first.ws === c.ws
        ? `${displayPath(c.ws.file)}: ${where(first)} and ${where(c)}`
        : `${where(first)} and ${where(c)}`;
    problems.push(`${subject} are both ${c.kind} "${c.name}"${scope}: ${why(c.kind)}; rename one`);
  }
  if (problems.length) {
    const more =
      problems.length > 1 ? ` (and ${problems.length - 1} more clash${problems.length > 2 ? 'es' : ''})` : '';
    throw new ConfigError(`${problems[0]}${more}`);
  }
}
