/**
 * What every benchmark shares: the machine and revision lines, writing its section of BENCHMARKS.md between markers
 * (leaving the other sections as they are), and running its main as every command runs: --help (which starts nothing),
 * unknown flags refused with exit 2, a failure in one line with exit 1 (2 for bad configuration), and on SIGINT or
 * SIGTERM its rig stopped and its temporary files removed (onInterrupt, benchTempDir), exit 130.
 */
import { execSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { repoRoot } from '../../workspaces/load';
import { EXIT, failure, parseStrict } from '../src/cli/run-cli';

export const BENCHMARKS_MD = path.join(repoRoot(), 'BENCHMARKS.md');

/** The machine, in one line: CPU model, cores, memory, Node. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()}`;
}

/**
 * The Machine and Date lines of a benchmark run by a test on a machine others may use too: with the 1-minute load
 * average when it started.
 */
export function runContextLines(loadAtStart: number): string[] {
  return [
    `Machine: ${machineLine()}; 1-minute load average ${loadAtStart.toFixed(1)} when the test started (other processes included).`,
    `Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
  ];
}

export function gitRevision(): string {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

export function writeSection(name: string, body: string, file = BENCHMARKS_MD): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  let text = fs.existsSync(file)
    ? fs.readFileSync(file, 'utf8')
    : "# Benchmarks\n\nFigures measured on this project's machine by `npm run bench`; each section names its command.\n";
  const re = new RegExp(`${start}[\\s\\S]*?${end}`);
  text = re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}

const cleanups = new Set<() => unknown>();

/** Runs `fn` (stop a rig, remove a folder) if the benchmark is interrupted before the returned function is called. */
export function onInterrupt(fn: () => unknown): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** A temporary folder, removed on interrupt too (the benchmark's own `finally` removes it otherwise). */
export function benchTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onInterrupt(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface BenchUsage {
  /** What it measures (--help). */
  readonly describe: string;
  /** The environment variables that size it, and their meaning with the default. */
  readonly env?: readonly (readonly [string, string])[];
}

/**
 * Runs a benchmark's main, after its arguments: --help prints `usage` and starts nothing; any other argument is
 * refused (exit 2; benchmarks are sized by environment variables). A failure is one line on stderr and exit code 1,
 * or 2 for bad configuration, as for every command (run-cli.ts failure; its own cleanup has run by then); SIGINT or
 * SIGTERM runs the onInterrupt cleanups, newest first, and exits 130.
 */
export function runBench(name: string, main: () => Promise<void>, usage?: BenchUsage): void {
  try {
    const env = usage?.env?.length
      ? `Sized by the environment:\n${usage.env.map(([v, meaning]) => `  ${v}: ${meaning}`).join('\n')}`
      : '';
    parseStrict(
      yargs(hideBin(process.argv))
        .scriptName(`npm run bench:${name} --`)
        .usage(`$0\n\n${usage?.describe ?? `The ${name} benchmark`}. Writes its section of BENCHMARKS.md.`)
        .epilog(env),
      {
        0: 'its figures written into BENCHMARKS.md',
        1: 'failed',
        130: 'interrupted (its rig stopped, its temporary files removed)',
      },
    );
  } catch (err) {
    const f = failure(err);
    process.stderr.write(`bench ${name}: ${f.line}\n`);
    process.exit(f.code);
  }
  let interrupted = false;
  const interrupt = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`bench ${name}: ${signal}: stopping what it started and removing its files\n`);
    void (async () => {
      for (const fn of [...cleanups].reverse())
        await Promise.resolve()
          .then(fn)
          .catch(() => undefined);
      process.exit(EXIT.interrupted);
    })();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  main().catch((err) => {
    const f = failure(err);
    process.stderr.write(`bench ${name}: ${f.line}\n`);
    process.exit(f.code);
  });
}
