/**
 * Bad workspace files: the one loader (workspaces/load.ts) turns each mistake into a one-line ConfigError naming the
 * file and the field, and main.ts turns that into one line on stderr and exit code 1, with no stack trace.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  checkWorkspacesTogether,
  listEnvs,
  loadWorkspace,
  parseWorkspace,
  workspacesDir,
  type LoadedWorkspace,
} from '../../workspaces/load';
import { ConfigError } from '../../workspaces/errors';
import { approvalFor, cleanup, tempDir } from '../helpers/synth';
import { testKeyRotationBundleDir, testLambdaBundleDir } from '../helpers/lambda-bundle';

const ROOT = path.resolve(__dirname, '../..');
const devText = fs.readFileSync(path.join(workspacesDir(), 'dev.json'), 'utf8');
const devFile = path.join(workspacesDir(), 'dev.json');

/** dev.json with one change applied. */
function devWith(mutate: (ws: any) => void): string {
  const raw = JSON.parse(devText);
  mutate(raw);
  return JSON.stringify(raw, null, 2);
}

function configError(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  expect((caught as Error).message).not.toContain('\n');
  return (caught as Error).message;
}

interface BadFile {
  what: string;
  mutate: (ws: any) => void;
  message: RegExp;
}

const badFiles: BadFile[] = [
  {
    what: 'a missing field',
    mutate: (ws) => delete ws.primary.bucket,
    message: /dev\.json: primary\.bucket: is missing$/,
  },
  { what: 'a missing section', mutate: (ws) => delete ws.migration, message: /dev\.json: migration: is missing$/ },
  {
    what: 'a bad account id',
    mutate: (ws) => (ws.legacy.accountId = '12345'),
    message: /dev\.json: legacy\.accountId: must be a 12-digit AWS account id \(got "12345"\)$/,
  },
  {
    what: 'a bad bucket name',
    mutate: (ws) => (ws.primary.bucket = 'Acme_Chat_Photos'),
    message:
      /dev\.json: primary\.bucket: "Acme_Chat_Photos" is not a valid bucket name: it may hold only lowercase letters/,
  },
  {
    what: 'an unknown field',
    mutate: (ws) => (ws.primary.bucketName = 'x'),
    message: /dev\.json: unknown field "primary\.bucketName": remove or correct it$/,
  },
  {
    what: 'an env that does not match the file name',
    mutate: (ws) => {
      ws.env = 'qa';
      delete ws.primary.devUser;
      // (qa would schedule its key rotation, which needs a Terraform Cloud token's secret for the app's workspaces)
      delete ws.terraformCloud.app;
    },
    message: /dev\.json: env: must be "dev" to match the file name \(got "qa"\)$/,
  },
  {
    what: 'no Terraform Cloud settings for an "aws" workspace',
    mutate: (ws) => delete ws.terraformCloud,
    message: /dev\.json: terraformCloud: is required when target is "aws"/,
  },
  {
    what: 'Batch Operations with the codec keys in an environment variable (a Lambda function cannot read it)',
    mutate: (ws) => {
      ws.batchOperations = { enabled: true };
      ws.codec.keys = { env: 'LEGACY_FERNET_KEYS' };
    },
    message:
      /dev\.json: codec\.keys: must be \{"secretsManager": "\.\.\."\} when batchOperations is enabled: the Lambda function cannot read the environment variable LEGACY_FERNET_KEYS$/,
  },
  {
    what: 'Batch Operations with a plugin codec (its module is not in the bundle)',
    mutate: (ws) => {
      ws.batchOperations = { enabled: true };
      ws.codec = { type: 'plugin', module: './my-codec.js', keys: { secretsManager: 'legacy/keys' } };
    },
    message:
      /dev\.json: codec\.type: a "plugin" codec cannot run in the Batch Operations function .*; disable batchOperations$/,
  },
  {
    what: 'more legacy access key ids than an IAM user can have',
    mutate: (ws) =>
      (ws.legacy.appUser.accessKeyIds = ['AKIAQ3EGRS7DEVEXAMPL1', 'AKIAQ3EGRS7DEVEXAMPL2', 'AKIAQ3EGRS7DEVEXAMPL3']),
    message: /dev\.json: legacy\.appUser\.accessKeyIds: an IAM user has at most two access keys \(IAM quota\)/,
  },
  {
    what: 'a legacy access key id given twice',
    mutate: (ws) => (ws.legacy.appUser.accessKeyIds = ['AKIAQ3EGRS7DEVEXAMPL1', 'AKIAQ3EGRS7DEVEXAMPL1']),
    message: /dev\.json: legacy\.appUser\.accessKeyIds: names a key id twice$/,
  },
  {
    what: 'a log retention CloudWatch Logs does not offer',
    mutate: (ws) => (ws.batchOperations = { enabled: true, logRetentionDays: 10 }),
    message:
      /dev\.json: batchOperations\.logRetentionDays: must be one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30,/,
  },
];

describe('the workspace loader', () => {
  it('loads every workspace file in the repository', () => {
    expect(listEnvs()).toEqual(['dev', 'local', 'prod', 'staging']);
    for (const env of listEnvs()) expect(loadWorkspace(env).env).toBe(env);
  });

  it.each(badFiles.map((b) => [b.what, b] as const))(
    'rejects %s with a one-line error naming the file and field',
    (_w, b) => {
      expect(configError(() => parseWorkspace(devWith(b.mutate), devFile))).toMatch(b.message);
    },
  );

  it('accepts Batch Operations with codec keys in Secrets Manager, and env-var keys when batch is off', () => {
    const on = parseWorkspace(
      devWith((ws) => (ws.batchOperations = { enabled: true })),
      devFile,
    );
    expect(on.batchOperations).toMatchObject({ enabled: true, reportsExpirationDays: 30, logRetentionDays: 30 });
    expect(on.codec.keys).toEqual({ secretsManager: 'legacy/photo-codec-keys-dev' });
    expect(
      parseWorkspace(
        devWith((ws) => (ws.codec.keys = { env: 'LEGACY_FERNET_KEYS' })),
        devFile,
      ).batchOperations.enabled,
    ).toBe(false);
  });

  it('accepts Batch Operations with env-var keys on an s3-compatible target (no Lambda there: the handler runs locally)', () => {
    const local = fs.readFileSync(path.join(workspacesDir(), 'local.json'), 'utf8');
    const raw = JSON.parse(local);
    raw.batchOperations = { enabled: true };
    const ws = parseWorkspace(JSON.stringify(raw), path.join(workspacesDir(), 'local.json'));
    expect(ws.batchOperations.enabled).toBe(true);
    expect(ws.codec.keys).toEqual({ env: 'LEGACY_FERNET_KEYS' });
  });

  it('rejects an unknown env, listing the known ones', () => {
    expect(configError(() => loadWorkspace('qa'))).toMatch(
      /^unknown env "qa": there is no .*qa\.json \(known envs: dev, local, prod, staging\)$/,
    );
  });

  it('rejects a file that is not JSON', () => {
    expect(configError(() => parseWorkspace('{"env": "dev",', devFile))).toMatch(/dev\.json: not valid JSON/);
  });
});

describe('the workspaces together (checkWorkspacesTogether; the app loads every file and checks them first)', () => {
  const files = Object.fromEntries(listEnvs().map((env) => [env, path.join(workspacesDir(), `${env}.json`)]));
  /** Every workspace of the repository, after `mutate` edited the raw JSON of some of them. */
  const all = (mutate: (raw: Record<string, any>) => void = () => {}): LoadedWorkspace[] => {
    const raw = Object.fromEntries(listEnvs().map((env) => [env, JSON.parse(fs.readFileSync(files[env], 'utf8'))]));
    mutate(raw);
    return listEnvs().map((env) => parseWorkspace(JSON.stringify(raw[env]), files[env]));
  };
  const clash = (mutate: (raw: Record<string, any>) => void) => configError(() => checkWorkspacesTogether(all(mutate)));

  it("accepts the repository's workspaces", () => {
    expect(() => checkWorkspacesTogether(all())).not.toThrow();
  });

  it("refuses a dev bucket equal to another environment's, saying the shared dev key would reach it", () => {
    expect(clash((r) => (r.dev.primary.bucket = r.prod.primary.bucket))).toMatch(
      /dev\.json: primary\.bucket "acme-chat-photos-prod" is prod's bucket \(primary\.bucket of \S*prod\.json\): the dev user's shared key would reach prod's photos; give dev a bucket of its own$/,
    );
    expect(clash((r) => (r.dev.primary.bucket = r.staging.legacy.bucket))).toMatch(
      /dev\.json: primary\.bucket "chatapp-legacy-photos-staging" is staging's bucket \(legacy\.bucket of/,
    );
  });

  it('refuses two environments sharing a bucket', () => {
    expect(clash((r) => (r.staging.legacy.bucket = r.prod.legacy.bucket))).toMatch(
      /prod\.json legacy\.bucket and \S*staging\.json legacy\.bucket are both bucket "chatapp-legacy-photos": each environment needs buckets of its own; rename one$/,
    );
  });

  it('refuses two environments sharing a Terraform Cloud workspace', () => {
    expect(
      clash((r) => (r.staging.terraformCloud.workspaces.legacy = r.prod.terraformCloud.workspaces.primary)),
    ).toMatch(
      /prod\.json terraformCloud\.workspaces\.primary and \S*staging\.json terraformCloud\.workspaces\.legacy are both Terraform Cloud workspace "bucketmove-primary-prod" in organization "acme-health": two stacks would share one state and undo each other; rename one$/,
    );
  });

  it('refuses two environments sharing an IAM role or user name in one account, and allows it across accounts', () => {
    expect(clash((r) => (r.staging.primary.writerRoleName = r.prod.primary.writerRoleName))).toMatch(
      /prod\.json primary\.writerRoleName and \S*staging\.json primary\.writerRoleName are both IAM role "bucketmove-migration-writer-prod" in account 210987654321: two stacks would manage \(and destroy\) the same one; rename one$/,
    );
    expect(clash((r) => (r.dev.primary.appUser.name = r.prod.primary.appUser.name))).toMatch(
      /are both IAM user "chat-app-prod" in account 210987654321/,
    );
    expect(clash((r) => (r.staging.legacy.appUser.name = r.prod.legacy.appUser.name))).toMatch(
      /are both IAM user "chatapp-prod-s3" in account 123456789012/,
    );
    expect(() =>
      checkWorkspacesTogether(
        all((r) => {
          r.staging.primary.writerRoleName = r.prod.primary.writerRoleName;
          r.staging.primary.accountId = '333344445555';
        }),
      ),
    ).not.toThrow();
  });

  it('refuses one workspace naming one IAM user twice, naming the file once', () => {
    expect(clash((r) => (r.dev.primary.devUser.name = r.dev.primary.appUser.name))).toMatch(
      /dev\.json: primary\.appUser\.name and primary\.devUser\.name are both IAM user "chat-app-dev" in account 210987654321/,
    );
  });

  it('counts further clashes after the first, in the same line', () => {
    // The shared bucket brings its default log bucket (<bucket>-access-logs) along: three clashes.
    expect(
      clash((r) => {
        r.staging.primary.bucket = r.prod.primary.bucket;
        r.staging.primary.appUser.name = r.prod.primary.appUser.name;
      }),
    ).toMatch(/; rename one \(and 2 more clashes\)$/);
  });

  it('compares only "aws" workspaces: the local S3 rig has buckets and accounts of its own', () => {
    expect(() => checkWorkspacesTogether(all((r) => (r.local.primary.bucket = r.dev.primary.bucket)))).not.toThrow();
  });
});

// ---- main.ts, as cdktf runs it ----

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  outdir: string;
}

function runMain(env: Record<string, string>, outdir: string): Promise<Run> {
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir, ...env };
    for (const k of Object.keys(childEnv)) {
      if (k.startsWith('BUCKETMOVE_') && !(k in env)) delete childEnv[k];
    }
    execFile(
      process.execPath,
      ['-r', 'ts-node/register', 'main.ts'],
      { cwd: ROOT, env: childEnv },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: unknown }).code as number) : 0, stdout, stderr, outdir });
      },
    );
  });
}

/** A copy of the workspaces folder with dev.json replaced. */
function workspacesWith(devJson: string): string {
  const dir = tempDir('ws');
  for (const f of fs.readdirSync(workspacesDir()).filter((f) => f.endsWith('.json'))) {
    fs.copyFileSync(path.join(workspacesDir(), f), path.join(dir, f));
  }
  fs.writeFileSync(path.join(dir, 'dev.json'), devJson);
  return dir;
}

describe('main.ts on bad input: one line on stderr, exit code 1, no stack trace, no stack written', () => {
  const scratch: string[] = [];
  const runs = new Map<string, Promise<Run>>();
  const expired = tempDir('expired-approval');
  scratch.push(expired);
  const expiredFile = path.join(expired, 'approval.json');
  fs.writeFileSync(
    expiredFile,
    JSON.stringify(
      approvalFor('prod', loadWorkspace('prod').legacy.bucket, {
        approvedAt: '2024-01-01T00:00:00Z',
        expiresAt: '2024-01-02T00:00:00Z',
      }),
    ),
  );
  // Issue 12's case: in its window, for the right env and bucket, but naming a report that does not exist.
  const handWrittenFile = path.join(expired, 'hand-written.json');
  fs.writeFileSync(
    handWrittenFile,
    JSON.stringify(
      approvalFor('prod', loadWorkspace('prod').legacy.bucket, {
        approvedAt: new Date(Date.now() - 3_600_000).toISOString(),
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    ),
  );

  const errorCases: { name: string; env: () => Record<string, string>; message: RegExp }[] = [
    ...badFiles.slice(0, 5).map((b) => ({
      name: `a workspace file with ${b.what}`,
      env: () => {
        const dir = workspacesWith(devWith(b.mutate));
        scratch.push(dir);
        return { BUCKETMOVE_WORKSPACES_DIR: dir };
      },
      message: b.message,
    })),
    {
      name: "dev naming prod's bucket, even when only dev is synthesized",
      env: () => {
        const dir = workspacesWith(devWith((ws) => (ws.primary.bucket = loadWorkspace('prod').primary.bucket)));
        scratch.push(dir);
        return { BUCKETMOVE_WORKSPACES_DIR: dir, BUCKETMOVE_ENVS: 'dev' };
      },
      message: /dev\.json: primary\.bucket "acme-chat-photos-prod" is prod's bucket/,
    },
    {
      name: 'an unknown env in BUCKETMOVE_ENVS',
      env: () => ({ BUCKETMOVE_ENVS: 'prod,qa' }),
      message: /^unknown env "qa"/,
    },
    {
      name: 'an s3-compatible env in BUCKETMOVE_ENVS',
      env: () => ({ BUCKETMOVE_ENVS: 'local' }),
      message: /env "local" has target "s3-compatible": stacks are synthesized only for target "aws"/,
    },
    {
      name: 'a bad BUCKETMOVE_BACKEND',
      env: () => ({ BUCKETMOVE_BACKEND: 's3' }),
      message: /BUCKETMOVE_BACKEND: must be "cloud" .* or "local" \(got "s3"\)/,
    },
    {
      name: 'staging enables Batch Operations but the function bundle was not built',
      env: () => ({ BUCKETMOVE_LAMBDA_BUNDLE: path.join(expired, 'not-built') }),
      message:
        /not-built\/index\.js is missing \(batchOperations is enabled for staging\): run `npm run build:lambda` first$/,
    },
    {
      name: 'an expired teardown approval',
      env: () => ({ BUCKETMOVE_TEARDOWN_APPROVAL: expiredFile }),
      message: /teardown approval .*approval\.json: expiresAt: expired at 2024-01-02T00:00:00Z/,
    },
    {
      name: 'a hand-written teardown approval whose audit report does not exist',
      env: () => ({ BUCKETMOVE_TEARDOWN_APPROVAL: handWrittenFile }),
      message:
        /teardown approval .*hand-written\.json: auditReport\.path: the audit report .*reports\/audit-prod\.json cannot be read \(ENOENT\); an approval must name the report the teardown gate approved: run the gate again$/,
    },
  ];

  beforeAll(async () => {
    // Start every run at once (2 at a time would be no faster: each is mostly module loading in its own process).
    for (const c of errorCases) {
      const outdir = tempDir('main-out');
      scratch.push(outdir);
      runs.set(c.name, runMain(c.env(), outdir));
    }
    const ok = tempDir('main-out');
    scratch.push(ok);
    runs.set(
      'ok',
      runMain(
        { BUCKETMOVE_LAMBDA_BUNDLE: testLambdaBundleDir(), BUCKETMOVE_KEY_ROTATION_BUNDLE: testKeyRotationBundleDir() },
        ok,
      ),
    );
    await Promise.all(runs.values());
  }, 300_000);

  afterAll(() => cleanup(...scratch));

  it.each(errorCases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const run = await runs.get(c.name)!;
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^bucketmove: /);
    expect(lines[0].slice('bucketmove: '.length)).toMatch(c.message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const stacksDir = path.join(run.outdir, 'stacks');
    expect(fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : []).toEqual([]);
  });

  it('with good input, writes the six stacks and exits 0', async () => {
    const run = await runs.get('ok')!;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(fs.readdirSync(path.join(run.outdir, 'stacks')).sort()).toEqual([
      'legacy-dev',
      'legacy-prod',
      'legacy-staging',
      'primary-dev',
      'primary-prod',
      'primary-staging',
    ]);
    // The functions' code, zipped from BUCKETMOVE_LAMBDA_BUNDLE and BUCKETMOVE_KEY_ROTATION_BUNDLE into the stack.
    const assets = path.join(run.outdir, 'stacks', 'primary-staging', 'assets');
    const zips = (fs.readdirSync(assets, { recursive: true }) as string[]).filter((f) => f.endsWith('archive.zip'));
    expect(zips.map((f) => f.split('_code_')[0]).sort()).toEqual(['batch-operations', 'key-rotation']);
  });
});
