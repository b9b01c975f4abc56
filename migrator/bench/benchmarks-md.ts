/**
 * What every benchmark shares: the machine and revision lines, writing its section of BENCHMARKS.md between markers
 * (leaving the other sections as they are), and running its main with a one-line error.
 */
import { execSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../../workspaces/load';

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
    return execSync('git rev-parse --short HEAD', { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

export function writeSection(name: string, body: string, file = BENCHMARKS_MD): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\nFigures measured on this project\'s machine by `npm run bench`; each section names its command.\n';
  const re = new RegExp(`${start}[\\s\\S]*?${end}`);
  text = re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}

/** Runs a benchmark's main; a failure is one line on stderr and exit code 1 (its own cleanup has run by then). */
export function runBench(name: string, main: () => Promise<void>): void {
  main().catch((err) => {
    process.stderr.write(`bench ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
