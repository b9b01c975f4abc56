/**
 * The rig's state file: where the local S3 answers and the throwaway keys of the principals it created. The rig writes
 * it (mode 0600); the client factory (`endpoint: "rig"` in a workspace), the tests, the seeder and the demo read it.
 * It lives with the AWS code, not in migrator/rig/: the shipped client factory reads this format, and shipped code
 * never imports the development rig (the rig imports this module instead).
 *
 * Path: `.rig/state.json` at the repository root (gitignored), or the path in BUCKETMOVE_RIG_STATE.
 *
 * The same shape describes any other S3-compatible server with the two accounts set up (see
 * test/integration/README.md): `kind: "external"` and no `dir`/`pids`. It holds only throwaway keys of a test server;
 * never real credentials.
 */
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { repoRoot } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';

export const RIG_STATE_ENV = 'BUCKETMOVE_RIG_STATE';

/** The repository root (the same from the sources and from dist/). */
export const REPO_ROOT = repoRoot();

/** The state file to use: BUCKETMOVE_RIG_STATE if set, else `.rig/state.json` at the repository root. */
export function rigStatePath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[RIG_STATE_ENV];
  return path.resolve(fromEnv && fromEnv.trim() ? fromEnv : path.join(REPO_ROOT, '.rig', 'state.json'));
}

const keyPair = z.strictObject({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
});

const principal = keyPair.extend({
  /** The tenant (account) the principal belongs to. */
  tenant: z.string(),
  /** The IAM ARN, e.g. arn:aws:iam::primary:user/migrator. */
  arn: z.string(),
});

const role = z.strictObject({
  arn: z.string(),
  /**
   * Whether the role's trust policy carries the sts:ExternalId condition. The rig sets it, probes it, and drops it when
   * the server cannot evaluate it (Ceph RGW 16 denies every AssumeRole on a role with that condition).
   */
  externalIdCondition: z.boolean(),
});

export const rigStateSchema = z.strictObject({
  version: z.literal(1),
  kind: z.enum(['rig', 'external']),
  /** The S3 (and IAM and STS) endpoint, e.g. http://127.0.0.1:43127. */
  endpoint: z.url({ protocol: /^https?$/ }),
  region: z.string(),
  /** The workspace file the accounts were created from. */
  workspace: z.string().optional(),
  /** The rig's temp dir (everything it keeps), and the PIDs it started; absent for an external server. */
  dir: z.string().optional(),
  pids: z.record(z.string(), z.number().int().positive()).optional(),
  startedAt: z.string().optional(),
  tenants: z.strictObject({ legacy: z.string(), primary: z.string() }),
  buckets: z.strictObject({ legacy: z.string(), primary: z.string() }),
  principals: z.strictObject({
    legacyAdmin: principal,
    primaryAdmin: principal,
    migrator: principal,
    primaryApp: principal,
    legacyApp: principal,
  }),
  roles: z.strictObject({ reader: role, writer: role }),
  /** The SSE-KMS key id the server knows (an ARN-shaped name of an RGW "testing" key). */
  kms: z.strictObject({ keyId: z.string() }).optional(),
  /** The shortest STS session the server grants (AWS: 900 s; the rig lowers it so tests can show refreshes). */
  sts: z.strictObject({ minSessionSeconds: z.number().int().positive() }).optional(),
  /** Figures measured at start: seconds from nothing to ready, and the daemons' total RSS right after. */
  measured: z.strictObject({ startSeconds: z.number(), rssBytes: z.number().int().nonnegative() }).optional(),
});

export type RigState = z.output<typeof rigStateSchema>;
export type RigPrincipal = RigState['principals']['migrator'];
export type RigPrincipalName = keyof RigState['principals'];

/** Reads and validates a state file; every problem is a one-line ConfigError that says what to do. */
export function readRigState(file = rigStatePath()): RigState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      `cannot read the rig state file ${file} (${code}): start the local S3 with \`npm run rig -- start\`, or set ${RIG_STATE_ENV} to the state file of a running one`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(
      `the rig state file ${file} is not valid JSON: stop and restart the rig (\`npm run rig -- stop\`, then \`start\`)`,
    );
  }
  const parsed = rigStateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `the rig state file ${file} is not a rig state (${issue.path.map(String).join('.') || 'top level'}: ${issue.message}): restart the rig or fix ${RIG_STATE_ENV}`,
    );
  }
  return parsed.data;
}

/** Writes the state atomically with mode 0600 (it holds the rig's throwaway keys), creating its folder. */
export function writeRigState(file: string, state: RigState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(rigStateSchema.parse(state), null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Removes the state file if it is there. */
export function removeRigState(file: string): void {
  fs.rmSync(file, { force: true });
}
