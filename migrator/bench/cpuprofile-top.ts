/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. BENCH_CPU_PROF=<dir> npm run bench:migrate): the top
 * self-time entries by function and by package (a node_modules package, the project's own code, Node's internals,
 * garbage collection, idle).
 * Run: node dist/migrator/bench/cpuprofile-top.js <file.cpuprofile> [top (20)]
 */
import * as fs from 'fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Entry {
  readonly name: string;
  readonly micros: number;
  readonly share: number;
}

/** The package a script URL belongs to: `@scope/name` or `name` under node_modules, `node:…`, or the project. */
export function packageOf(url: string): string {
  if (!url) return '(native/VM)';
  if (url.startsWith('node:')) return 'node (internals)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.slice(url.lastIndexOf('node_modules/')));
  return m ? m[1] : 'bucketmove';
}

/** Self time per function and per package, largest first, with its share of the profile (idle included). */
export function summarise(p: Profile): { byFunction: Entry[]; byPackage: Entry[]; totalMicros: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    if (!n) return;
    total += dt;
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url.replace(/^.*node_modules\//, '').replace(/^.*\/(dist|migrator)\//, '$1/');
    const name = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    fn.set(name, (fn.get(name) ?? 0) + dt);
    const k =
      functionName === '(garbage collector)' || functionName === '(idle)' || functionName === '(program)'
        ? functionName
        : packageOf(url);
    pkg.set(k, (pkg.get(k) ?? 0) + dt);
  });
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, micros]) => ({ name, micros, share: micros / total })).sort((a, b) => b.micros - a.micros);
  return { byFunction: sorted(fn), byPackage: sorted(pkg), totalMicros: total };
}

if (require.main === module) {
  const [file, top = '20'] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node cpuprofile-top.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const s = summarise(JSON.parse(fs.readFileSync(file, 'utf8')) as Profile);
  const line = (e: Entry) =>
    `${(e.share * 100).toFixed(1).padStart(5)}%  ${(e.micros / 1000).toFixed(0).padStart(7)} ms  ${e.name}`;
  process.stdout.write(
    `profile: ${(s.totalMicros / 1e6).toFixed(1)} s sampled\n\nby package (self time):\n${s.byPackage.slice(0, Number(top)).map(line).join('\n')}\n\nby function (self time):\n${s.byFunction.slice(0, Number(top)).map(line).join('\n')}\n`,
  );
}
