/**
 * One convention for every command (README, "Exit codes"): each takes --help, which answers at once with exit 0 and
 * starts nothing; an unknown flag is one line on stderr, exit 2, no stack trace. Run over every command the launcher
 * (bin/bucketmove.js) knows, as `npm run <command>` runs it: through the launcher, from dist/ (compiled first if a
 * source changed, as any command would; after `npm ci` it is fresh). Also: every command has its `npm run` form, going
 * through the launcher with `exec` (so signals reach the command itself), and the exit codes the commands use are the
 * README's table: each command's --help ends with what the table's codes mean for it, an unknown env and no AWS
 * credentials at all are exit 2 in one line, and a refusal of the teardown gate is exit 1. The codes that need a run
 * (1, 3, 130) are tested with each command: test/integration/migrate-cli.test.ts (3, 130), audit-cli (1),
 * test/batch/batch-job.test.ts and test/teardown/gate.test.ts (3, 130 as results), photo-service.test.ts (0 on
 * SIGTERM).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EXIT } from '../../migrator/src/exit-codes';

const REPO = path.resolve(__dirname, '../..');
const LAUNCHER = path.join(REPO, 'bin', 'bucketmove.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const launcher = require(LAUNCHER) as {
  COMMANDS: Record<string, { entry?: string; runs?: string[]; jest?: string; describe: string }>;
  usage: () => string;
};
const COMMANDS = launcher.COMMANDS;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs node with `argv` in `cwd`, in `base` (this process's environment) plus `env`. */
function run(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  o: { cwd?: string; base?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      argv,
      { cwd: o.cwd ?? REPO, env: { ...(o.base ?? process.env), ...env }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr,
          seconds: (Date.now() - t0) / 1000,
        }),
    );
  });
}

const argvOf = (name: string): string[] => [LAUNCHER, name];
/** The arguments a command requires (checked before unknown ones), so that the bad flag is what it refuses. */
const REQUIRED: Record<string, string[]> = {
  migrate: ['--env', 'local'],
  manifest: ['--env', 'local'],
  batch: ['--env', 'local'],
  audit: ['--env', 'local'],
  teardown: ['--env', 'local'],
  gateway: ['--env', 'local'],
  keys: ['status', '--env', 'prod'],
  'seed-legacy': ['--env', 'local', '--count', '1'],
  rig: ['status'],
};

/** Runs `fn` over `items`, `n` at a time (the machine has few cores). */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

const names = Object.keys(COMMANDS);
const STACK = /^\s+at .+:\d+:\d+\)?$/m;
const CODES: number[] = Object.values(EXIT);

/** The codes a --help's "Exit codes:" paragraph gives (each entry "<code> <meaning>", entries split by "; "). */
function helpExitCodes(help: string): number[] | undefined {
  const at = help.lastIndexOf('Exit codes: ');
  if (at < 0) return undefined;
  const text = help
    .slice(at + 'Exit codes: '.length)
    .replace(/\s*\n\s*/g, ' ')
    .trim(); // yargs wraps it
  return text.split(/; (?=\d+ )/).map((entry) => Number(/^(\d+) /.exec(entry)?.[1]));
}

/** The commands that take --env, with what else they need to get as far as reading the workspace. */
const WITH_ENV: Record<string, string[]> = {
  migrate: [],
  manifest: [],
  batch: [],
  audit: [],
  teardown: ['--dry-run'],
  keys: ['status'],
  'seed-legacy': ['--count', '1'],
};
/** An environment without any AWS credentials (nor a way to find some: no ~/.aws, no instance metadata). */
const noCredentials = (home: string): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('LEGACY_AWS_')),
  ),
  HOME: home,
  AWS_EC2_METADATA_DISABLED: 'true',
});

describe('every command', () => {
  let help: Record<string, Run>;
  let unknown: Record<string, Run>;
  const tmpBefore = new Set(fs.readdirSync(os.tmpdir()));

  beforeAll(async () => {
    // dist/ as the commands need it (a no-op when fresh), so that no command below compiles it.
    const build = await run([LAUNCHER, 'build']);
    if (build.code !== 0) throw new Error(`the build failed: ${build.stderr}`);
    // Environment a command might otherwise act on: none of it should matter for --help or a bad flag.
    const env = { BUCKETMOVE_LOG_LEVEL: 'info' };
    const results = await pool(
      names,
      4,
      async (name) =>
        [
          await run([...argvOf(name), '--help'], env),
          await run([...argvOf(name), ...(REQUIRED[name] ?? []), '--bogus-flag'], env),
        ] as const,
    );
    help = Object.fromEntries(names.map((n, i) => [n, results[i][0]]));
    unknown = Object.fromEntries(names.map((n, i) => [n, results[i][1]]));
  }, 600_000);

  test('the launcher knows the commands of the issue', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'migrate',
        'audit',
        'teardown',
        'batch',
        'manifest',
        'keys',
        'seed-legacy',
        'photo-service',
        'rig',
        'demo',
        'bench',
        'bench:codec',
        'bench:manifest',
      ]),
    );
    for (const c of Object.values(COMMANDS))
      if (c.entry) expect(fs.existsSync(path.join(REPO, `${c.entry}.ts`))).toBe(true);
  });

  test.each(names)('%s --help: exit 0, a usage on stdout, nothing started', (name) => {
    const r = help[name];
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: EXIT.ok, stderr: '' });
    expect(r.stdout).toMatch(/usage|Usage|\$0|npm run|bucketmove/);
    expect(r.stdout).toMatch(
      name.startsWith('bench') || name === 'rig' || name === 'photo-service' ? /npm run|bucketmove/ : new RegExp(name),
    );
    // "Fast": it did no work. A generous bound for a loaded machine: the slowest job a --help used to start
    // (bench:manifest, a million keys) takes minutes.
    expect(r.seconds).toBeLessThan(60);
  });

  test.each(names)('%s --bogus-flag: one line on stderr, exit 2, no stack trace', (name) => {
    const r = unknown[name];
    expect(r.code).toBe(EXIT.usage);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^(bench )?[\w:-]+: (Unknown argument: bogus-flag; see --help|takes no options \(got --bogus-flag\); .*)$/,
    );
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toBe('');
  });

  test.each(names)("%s --help ends with its exit codes: only the table's, 0 and 2 among them, in order", (name) => {
    const codes = helpExitCodes(help[name].stdout);
    expect(codes).toBeDefined();
    expect(codes).toEqual(expect.arrayContaining([EXIT.ok, EXIT.usage]));
    for (const c of codes!) expect(CODES).toContain(c);
    expect([...codes!].sort((a, b) => a - b)).toEqual(codes);
  });

  test('--help started no benchmark: no temporary folder of one appeared', () => {
    const appeared = fs.readdirSync(os.tmpdir()).filter((f) => !tmpBefore.has(f) && /bench/.test(f));
    expect(appeared).toEqual([]);
  });
});

describe('the launcher', () => {
  test('--help lists every command and the exit codes; no command or an unknown one: exit 2', async () => {
    const h = await run([LAUNCHER, '--help']);
    expect(h.code).toBe(0);
    for (const name of names) expect(h.stdout).toContain(`  ${name} `);
    expect(h.stdout).toContain('Exit codes: 0 done, 1 finished with findings or failures, 2 bad input');
    const none = await run([LAUNCHER]);
    expect(none.code).toBe(EXIT.usage);
    const nope = await run([LAUNCHER, 'nope']);
    expect({ code: nope.code, lines: nope.stderr.trimEnd().split('\n').length }).toEqual({
      code: EXIT.usage,
      lines: 1,
    });
    expect(nope.stderr).toContain('unknown command "nope"');
    const bad = await run([LAUNCHER, 'build', '--bogus']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({
      code: EXIT.usage,
      stderr: 'build: unknown option --bogus; see --help\n',
    });
  });

  test('every command has its npm run form, through the launcher with exec; the bin is the launcher', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ bucketmove: 'bin/bucketmove.js' });
    for (const name of names) expect(pkg.scripts[name]).toBe(`exec node bin/bucketmove.js ${name}`);
    expect(pkg.scripts.prepare).toBe('node bin/bucketmove.js build');
    expect(fs.statSync(LAUNCHER).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(LAUNCHER, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  test("the exit codes the commands use are the README's table", () => {
    expect(EXIT).toEqual({ ok: 0, failed: 1, usage: 2, incomplete: 3, interrupted: 130 });
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Exit codes'));
    for (const code of Object.values(EXIT)) expect(table).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });
});

describe('bad configuration and credentials: exit 2 in one line; a refusal: exit 1', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-nocreds-'));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  test.each(Object.keys(WITH_ENV))(
    '%s --env nope: exit 2, one line naming the env and the known ones',
    async (name) => {
      const r = await run([...argvOf(name), ...WITH_ENV[name], '--env', 'nope']);
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
        code: EXIT.usage,
        stderr: `${name}: unknown env "nope": there is no workspaces/nope.json (known envs: dev, local, prod, staging)\n`,
        stdout: '',
      });
    },
    120_000,
  );

  // The AWS commands with a workspace they can act on, and nothing to sign requests with.
  test.each([
    ['manifest', ['--env', 'dev'], 'the legacy side: no AWS credentials at all'],
    ['keys', ['status', '--env', 'dev'], 'no AWS credentials at all'],
    [
      'migrate',
      ['--env', 'dev'],
      'codec.keys: cannot read Secrets Manager secret "legacy/photo-codec-keys-dev": no AWS credentials at all',
    ],
  ])(
    '%s with no AWS credentials at all: exit 2, one line that says so and how to log in',
    async (name, args, says) => {
      const r = await run([...argvOf(name), ...args], {}, { base: noCredentials(home) });
      expect(r.code).toBe(EXIT.usage);
      expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(`${name}: ${says}: the SDK found none`)]);
      expect(r.stderr).toContain('aws sso login');
    },
    120_000,
  );

  test('the teardown gate without an audit report: refused, exit 1 (a finding, not a bad input)', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-gate-cwd-'));
    try {
      const r = await run([...argvOf('teardown'), '--env', 'dev', '--dry-run'], {}, { cwd });
      expect(r.code).toBe(EXIT.failed);
      expect(r.stderr).toMatch(
        /^teardown: refused: no audit report for dev in .*; run `npm run audit -- --env dev` first/,
      );
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);
});
