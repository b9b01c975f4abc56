#!/usr/bin/env node
/**
 * bucketmove <command> [options]: every tool of the project (`npx bucketmove migrate --env prod`, and each
 * `npm run <command>`, which runs this file).
 *
 * The tools are TypeScript compiled once into dist/ (tsc -p tsconfig.build.json): at install (`npm ci` runs the
 * `prepare` script, `bucketmove build`), and again only when a source changed. A stamp beside the output
 * (dist/.bucketmove-build.json) records the path, size and modification time of every source the build read; a
 * command compares them with the tree as it is (a few hundred stat calls, milliseconds) and compiles first only when
 * they differ, under a lock, so commands started at once never run a half-written dist/. The command then runs in
 * this same process (no child, so signals and exit codes are the command's own: SIGTERM to `npm run photo-service`
 * reaches the service). This file is plain JavaScript so that it runs before anything is compiled.
 *
 * Exit codes (every command; README, "Exit codes"): 0 done, 1 finished with findings or failures, 2 bad input,
 * configuration or credentials (here: an unknown command, a build that fails), 3 more to do, 130 interrupted.
 */
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const STAMP = '.bucketmove-build.json';
const LOCK = '.bucketmove-build.lock';
const TSCONFIG = 'tsconfig.build.json';
const EXIT = { ok: 0, usage: 2, interrupted: 130 };

/** Why the tools cannot run: one line, exit 2. */
class BuildError extends Error {}

/**
 * The commands: a compiled entry (`entry`, relative to the repository and without extension; its source is the .ts;
 * `lambda`: it also runs the Lambda bundles, built first by `npm run build:lambda`), a sequence of other commands
 * (`runs`), or a jest test file run as a benchmark (`jest`, nothing to compile).
 */
const COMMANDS = {
  demo: { entry: 'migrator/src/demo/demo', describe: 'the whole migration on a local S3 with two accounts' },
  rig: {
    entry: 'migrator/rig/cli',
    describe: 'the local S3 (Ceph RGW) with two accounts: install, start, stop, status',
  },
  'seed-legacy': { entry: 'migrator/src/seed/cli', describe: 'fill a local legacy bucket with encrypted photos' },
  'photo-service': {
    entry: 'migrator/src/service/main',
    describe: 'the reference photo service on the photo store (configured by its environment)',
  },
  gateway: {
    entry: 'migrator/src/gateway/main',
    describe: "an S3-API gateway in front of the two buckets: the read fallback with no change to the app's code",
  },
  migrate: {
    entry: 'migrator/src/cli/migrate',
    describe: 'the backfill: decrypt-copy every legacy object into the new bucket',
  },
  manifest: {
    entry: 'migrator/src/cli/manifest',
    describe: 'write a Batch Operations CSV manifest from a listing of the legacy bucket',
  },
  batch: { entry: 'migrator/src/cli/batch', describe: 'the backfill as an S3 Batch Operations job (AWS only)' },
  audit: {
    entry: 'migrator/src/cli/audit',
    describe: 'verify: every legacy key in the new bucket, zero fallback hits',
  },
  teardown: { entry: 'migrator/src/cli/teardown', describe: 'the teardown gate: approve and destroy the legacy stack' },
  keys: { entry: 'migrator/src/cli/keys', describe: "rotate the app user's access keys (outside Terraform)" },
  bench: {
    runs: ['bench:codec', 'bench:migrate', 'bench:audit', 'bench:manifest'],
    describe:
      'bench:codec, bench:migrate, bench:audit and bench:manifest in turn, each writing its section of BENCHMARKS.md (about half an hour)',
  },
  'bench:codec': { entry: 'migrator/bench/codec', describe: 'codec throughput (Fernet, AES-256-GCM)' },
  'bench:migrate': {
    entry: 'migrator/bench/migrate',
    describe: 'the migrator against rclone, a boto3 script and raw GET + PUT loops',
  },
  'bench:audit': { entry: 'migrator/bench/audit', describe: 'the audit: time and memory by bucket size' },
  'bench:one-pass': {
    entry: 'migrator/bench/one-pass',
    describe: 'one large object in one pass against two (AES-256-GCM, Fernet)',
  },
  'bench:large-object': {
    entry: 'migrator/bench/large-object',
    describe: 'one large object: the migrator against a raw multipart PUT, client and server CPU (and another build)',
  },
  'bench:gateway': {
    entry: 'migrator/bench/gateway',
    describe: 'latency and throughput through the gateway against direct access',
  },
  'bench:manifest': {
    entry: 'migrator/bench/manifest',
    describe: 'memory of reading 1,000,000 keys from manifests and a listing',
  },
  'bench:memory': {
    entry: 'migrator/bench/memory',
    lambda: true,
    describe: 'peak RSS of copying one object per codec and size, by the CLI and by the Batch function bundle',
  },
  'bench:rig': { entry: 'migrator/bench/rig', describe: "the local rig's start time and memory" },
  'bench:zero-downtime': {
    jest: 'test/integration/zero-downtime.test.ts',
    describe: 'requests and latencies while the migrator runs under load (a jest test)',
  },
  'bench:rolling-deploy': {
    jest: 'test/integration/rolling-deploy.test.ts',
    describe: 'requests and latencies per phase of the rolling deploy (a jest test)',
  },
};

const say = (line) => process.stderr.write(`bucketmove: ${line}\n`);

/** The folders the build compiles, from tsconfig.build.json's include patterns ("migrator/src/**\/*.ts" -> migrator/src). */
function sourceRoots(root = ROOT) {
  const config = JSON.parse(fs.readFileSync(path.join(root, TSCONFIG), 'utf8'));
  return [...new Set((config.include || []).map((p) => p.split('/**')[0]))];
}

/**
 * Every file the build depends on: the TypeScript sources under its folders (no source imports a JSON file; the
 * workspace files are read at run time, so editing one never forces a build), and both tsconfig files.
 */
function sourceFiles(root = ROOT) {
  const files = ['tsconfig.json', TSCONFIG];
  const walk = (rel) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(child);
      } else if (e.name.endsWith('.ts')) {
        files.push(child);
      }
    }
  };
  for (const dir of sourceRoots(root)) walk(dir);
  return files.sort();
}

/** Path -> [size, mtime in ms] of every source: what the stamp records. */
function snapshot(root = ROOT) {
  const out = {};
  for (const f of sourceFiles(root)) {
    try {
      const st = fs.statSync(path.join(root, f));
      out[f] = [st.size, Math.round(st.mtimeMs)];
    } catch {
      // vanished between the walk and the stat: not a source any more
    }
  }
  return out;
}

/** Why dist/ must be built again, or undefined when the stamp matches the sources (and the command's entry exists). */
function staleness(root = ROOT, entry) {
  const dist = path.join(root, 'dist');
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(dist, STAMP), 'utf8'));
  } catch {
    return fs.existsSync(dist) ? 'dist/ holds no finished build' : 'dist/ has not been built';
  }
  if (entry && !fs.existsSync(path.join(dist, `${entry}.js`))) return `dist/${entry}.js is missing`;
  const now = snapshot(root);
  const before = stamp.files || {};
  for (const f of Object.keys(now)) {
    if (!before[f]) return `${f} is new`;
    if (before[f][0] !== now[f][0] || before[f][1] !== now[f][1]) return `${f} changed`;
  }
  for (const f of Object.keys(before)) if (!now[f]) return `${f} was removed`;
  return undefined;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** The build lock (a directory: mkdir is atomic), taken over from a holder that died; waits up to 10 minutes. */
function withLock(root, fn) {
  const lock = path.join(root, 'dist', LOCK);
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 600_000;
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let holder;
      try {
        holder = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        holder = undefined; // being written or removed
      }
      if (holder && !alive(holder)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new BuildError(
          `another build (process ${holder}) holds ${path.relative(root, lock)} for 10 minutes; if none runs, remove that folder`,
        );
      if (!told) say(`waiting for another build (process ${holder ?? '?'}) to finish`);
      told = true;
      sleep(200);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Compiles dist/ when it is stale (or always, with `force`), under the lock; writes the stamp of the sources as they
 * were when the build started (a file saved during the build makes the next command build again). Returns whether it
 * compiled. The compiler's output goes to stderr: stdout is the command's.
 */
function build(root = ROOT, { entry, force = false, quiet = false } = {}) {
  if (!force && !staleness(root, entry)) return false;
  return withLock(root, () => {
    const why = force ? 'asked to' : staleness(root, entry);
    if (!why) return false; // another process built it while this one waited
    let tsc;
    try {
      tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
    } catch {
      throw new BuildError(
        'cannot build dist/: typescript is not installed (an install without dev dependencies?); run `npm ci`',
      );
    }
    const buildInfo = path.join(root, 'dist', '.tsbuildinfo');
    // tsc's incremental state believes the outputs it wrote are still there: without it, it writes every file again.
    if (force || why.endsWith(' is missing')) fs.rmSync(buildInfo, { force: true });
    const files = snapshot(root);
    if (!quiet) say(`compiling (${why}): tsc -p ${TSCONFIG}`);
    const run = spawnSync(process.execPath, [tsc, '-p', TSCONFIG], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    process.stderr.write(run.stdout || '');
    process.stderr.write(run.stderr || '');
    if (run.status !== 0) {
      fs.rmSync(path.join(root, 'dist', STAMP), { force: true });
      throw new BuildError(
        `the build failed (tsc -p ${TSCONFIG}${run.signal ? `, ${run.signal}` : `, exit ${run.status}`}; errors above): fix them, then run the command again`,
      );
    }
    fs.writeFileSync(
      path.join(root, 'dist', STAMP),
      `${JSON.stringify({ builtAt: new Date().toISOString(), files })}\n`,
    );
    return true;
  });
}

/** The Lambda bundles (`npm run build:lambda`: esbuild, scripts/build-lambda.ts), for a command that runs them. */
function buildLambda() {
  const run = spawnSync('npm', ['run', '-s', 'build:lambda'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (run.status !== 0)
    throw new BuildError(
      `the Lambda bundles did not build (npm run build:lambda, ${run.signal ?? `exit ${run.status}`}; errors above)`,
    );
}

function usage() {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'Usage: bucketmove <command> [options]   (or: npm run <command> -- [options])',
    '',
    'Commands (each takes --help):',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.describe}`),
    `  ${'build'.padEnd(width)}  compile dist/ if a source changed (--force: in any case); every command does it first`,
    '',
    'Exit codes: 0 done, 1 finished with findings or failures, 2 bad input, configuration or credentials, 3 more to do,',
    '130 interrupted.',
  ].join('\n');
}

const wantsHelp = (args) => args.includes('--help') || args.includes('-h');

/** Runs child processes in turn (a command made of others, or jest), passing signals on; resolves with the exit code. */
function runChild(argv, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'inherit' });
    // A terminal's Ctrl-C reaches the child by itself (same process group); a signal sent to this process alone
    // (npm passing on SIGTERM, a container stopping) is passed on.
    const pass = (signal) => child.kill(signal);
    const signals = ['SIGTERM', 'SIGHUP', 'SIGINT'];
    for (const s of signals) process.on(s, pass);
    child.on('exit', (code, signal) => {
      for (const s of signals) process.removeListener(s, pass);
      resolve(signal ? EXIT.interrupted : (code ?? 1));
    });
  });
}

async function runSequence(name, command, args) {
  if (wantsHelp(args)) {
    process.stdout.write(
      `Usage: bucketmove ${name}\n\nRuns ${command.describe}. Each takes --help.\n\nExit codes: 0 every part done; 1 a part failed; 2 bad input; 130 interrupted (the parts after one that did not exit 0 do not run).\n`,
    );
    return EXIT.ok;
  }
  if (args.length) {
    process.stderr.write(
      `${name}: takes no options (got ${args[0]}); run a single benchmark with its own options, e.g. bucketmove ${command.runs[0]} --help\n`,
    );
    return EXIT.usage;
  }
  build(ROOT, { entry: COMMANDS[command.runs[0]].entry }); // once, not once per part
  for (const part of command.runs) {
    const code = await runChild([__filename, part], {});
    if (code !== 0) return code;
  }
  return EXIT.ok;
}

async function runJest(name, command, args) {
  if (wantsHelp(args)) {
    process.stdout.write(
      `Usage: bucketmove ${name}\n\n${command.describe}: runs ${command.jest} (the integration project, on its own local S3 rig) with BUCKETMOVE_BENCH_WRITE=1, which writes its figures into BENCHMARKS.md.\n\n` +
        'Exit codes: 0 passed, its figures written; 1 failed (jest says which assertion); 2 bad input (it takes no arguments); 130 interrupted.\n',
    );
    return EXIT.ok;
  }
  if (args.length) {
    process.stderr.write(`${name}: takes no options (got ${args[0]}); see --help\n`);
    return EXIT.usage;
  }
  const jest = require.resolve('jest/bin/jest', { paths: [ROOT] });
  return runChild([jest, '--selectProjects', 'integration', '--runTestsByPath', command.jest], {
    BUCKETMOVE_BENCH_WRITE: '1',
  });
}

function main(argv) {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(`${usage()}\n`);
    process.exitCode = name === undefined ? EXIT.usage : EXIT.ok;
    return;
  }
  try {
    if (name === 'build') {
      if (wantsHelp(args)) {
        process.stdout.write(
          'Usage: bucketmove build [--force]\n\nCompiles dist/ (tsc -p tsconfig.build.json) if a source changed since the last build; --force: in any case.\n',
        );
        return;
      }
      const unknown = args.find((a) => a !== '--force');
      if (unknown) {
        process.stderr.write(`build: unknown option ${unknown}; see --help\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      const built = build(ROOT, { force: args.includes('--force') });
      if (!built) say('dist/ is up to date');
      return;
    }
    const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) {
      process.stderr.write(
        `bucketmove: unknown command "${name}"; one of: ${Object.keys(COMMANDS).join(', ')}, build (see bucketmove --help)\n`,
      );
      process.exitCode = EXIT.usage;
      return;
    }
    if (command.jest) return settle(runJest(name, command, args));
    if (command.runs) return settle(runSequence(name, command, args));
    build(ROOT, { entry: command.entry });
    // A benchmark takes no arguments: with any, it only answers --help or refuses them, and needs no bundle.
    if (command.lambda && args.length === 0) buildLambda();
    // The command runs in this process as if node had started it: process.argv[1] is its file (run-cli.ts isEntry).
    const file = path.join(DIST, `${command.entry}.js`);
    process.argv = [process.argv[0], file, ...args];
    require(file);
  } catch (err) {
    buildFailed(err);
  }
}

/** A build that cannot be done or fails: one line (tsc's own output came before it), exit 2. */
function buildFailed(err) {
  if (!(err instanceof BuildError)) throw err;
  say(err.message);
  process.exitCode = EXIT.usage;
}

function settle(promise) {
  promise.then((code) => (process.exitCode = code), buildFailed);
}

module.exports = { COMMANDS, build, staleness, snapshot, sourceFiles, usage };

if (require.main === module) main(process.argv.slice(2));
