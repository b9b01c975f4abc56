/**
 * bench:large-object (migrator/bench/large-object.ts): a wrong BENCH_BASE_DIST or size is refused in one line, exit 2,
 * before any rig starts; and the order of the tools in each round of it and of bench:migrate (bench-rig.ts roundOrder).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { roundOrder } from '../../migrator/bench/bench-rig';

const ROOT = path.resolve(__dirname, '../..');

/** The bench as npm runs it; its stderr without the launcher's own lines (a build, when a source changed). */
function bench(env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, ['bin/bucketmove.js', 'bench:large-object'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('bucketmove: '));
  return { status: r.status, stdout: r.stdout, lines };
}

describe('bench:large-object', () => {
  test('a BENCH_BASE_DIST without a built migrator is refused in one line, exit 2, no rig started', () => {
    const r = bench({ BENCH_BASE_DIST: '/nonexistent/dist' });
    expect(r.status).toBe(2);
    expect(r.lines).toEqual([
      'bench large-object: BENCH_BASE_DIST: /nonexistent/dist/migrator/src/cli/migrate.js does not exist: give the dist/ folder of a checkout built with npm run build',
    ]);
    expect(r.stdout).toBe('');
  });

  test('rounds that are not a whole number of 1 or more are refused in one line, exit 2', () => {
    for (const rounds of ['0', '2.5', 'many']) {
      const r = bench({ BENCH_ROUNDS: rounds });
      expect(r.status).toBe(2);
      expect(r.lines).toEqual([
        'bench large-object: BENCH_LARGE_MIB must be a positive number and BENCH_ROUNDS a whole number of 1 or more',
      ]);
    }
  });
});

describe('roundOrder', () => {
  test('each round starts one tool further on, so that each tool takes each place once in as many rounds', () => {
    const tools = ['raw', 'this', 'base'];
    expect(roundOrder(tools, 1)).toEqual([
      [0, 'raw'],
      [1, 'this'],
      [2, 'base'],
    ]);
    expect(roundOrder(tools, 2)).toEqual([
      [1, 'this'],
      [2, 'base'],
      [0, 'raw'],
    ]);
    expect(roundOrder(tools, 4)).toEqual(roundOrder(tools, 1));
    const places = new Map<string, Set<number>>();
    for (let round = 1; round <= tools.length; round++)
      roundOrder(tools, round).forEach(([, t], place) => places.set(t, (places.get(t) ?? new Set()).add(place)));
    for (const t of tools) expect([...places.get(t)!].sort()).toEqual([0, 1, 2]);
  });
});
