/**
 * The launcher's build (bin/bucketmove.js): dist/ is compiled once and again only when a source changed, judged by a
 * stamp of every source's size and modification time; a failed build leaves no stamp; a lock left by a process that
 * died is taken over. On a small project of its own in a temporary folder (its node_modules: this repository's, for
 * tsc), so the repository's own dist/ is never touched.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tmpDirPerFile } from '../helpers/tmp';

const REPO = path.resolve(__dirname, '../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const launcher = require(path.join(REPO, 'bin', 'bucketmove.js')) as {
  build: (root: string, o?: { entry?: string; force?: boolean; quiet?: boolean }) => boolean;
  staleness: (root: string, entry?: string) => string | undefined;
};
const tmp = tmpDirPerFile('bm-launcher-');

jest.setTimeout(120_000);

/** A project the launcher can build: tsconfig.json, tsconfig.build.json (include src/**), src/a.ts. */
function project(): string {
  const root = tmp();
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
  fs.writeFileSync(
    path.join(root, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, types: [] } }),
  );
  fs.writeFileSync(
    path.join(root, 'tsconfig.build.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { outDir: 'dist', rootDir: '.', incremental: true, tsBuildInfoFile: 'dist/.tsbuildinfo' },
      include: ['src/**/*.ts'],
    }),
  );
  fs.mkdirSync(path.join(root, 'src'));
  fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a: number = 1;\n');
  return root;
}

/** Sets a file's modification time `seconds` later than it is (a save that keeps the size). */
function touch(file: string, seconds = 5): void {
  const t = fs.statSync(file).mtime.getTime() / 1000 + seconds;
  fs.utimesSync(file, t, t);
}

const built = (root: string, rel: string) => fs.readFileSync(path.join(root, 'dist', rel), 'utf8');

test('built once; again only when a source changed, was added or removed, or the entry is missing', () => {
  const root = project();
  expect(launcher.staleness(root)).toBe('dist/ has not been built');
  expect(launcher.build(root, { quiet: true })).toBe(true);
  expect(built(root, 'src/a.js')).toContain('exports.a = 1');
  expect(launcher.staleness(root)).toBeUndefined();
  expect(launcher.build(root, { quiet: true })).toBe(false); // fresh: nothing compiled

  fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a: number = 22;\n');
  expect(launcher.staleness(root)).toBe('src/a.ts changed');
  expect(launcher.build(root, { quiet: true })).toBe(true);
  expect(built(root, 'src/a.js')).toContain('exports.a = 22');

  touch(path.join(root, 'src', 'a.ts')); // same size, later mtime
  expect(launcher.staleness(root)).toBe('src/a.ts changed');
  launcher.build(root, { quiet: true });

  fs.writeFileSync(path.join(root, 'src', 'b.ts'), 'export const b = 2;\n');
  expect(launcher.staleness(root)).toBe('src/b.ts is new');
  launcher.build(root, { quiet: true });
  fs.rmSync(path.join(root, 'src', 'b.ts'));
  expect(launcher.staleness(root)).toBe('src/b.ts was removed');
  launcher.build(root, { quiet: true });

  expect(launcher.staleness(root)).toBeUndefined();
  expect(launcher.staleness(root, 'src/c')).toBe('dist/src/c.js is missing');
  fs.rmSync(path.join(root, 'dist', 'src', 'a.js'));
  expect(launcher.staleness(root, 'src/a')).toBe('dist/src/a.js is missing');
  expect(launcher.build(root, { entry: 'src/a', quiet: true })).toBe(true);
  expect(built(root, 'src/a.js')).toContain('exports.a = 22');
});

test('a build that fails says so in one line and leaves no stamp: the next command compiles again', () => {
  const root = project();
  launcher.build(root, { quiet: true });
  fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a: number = "not a number";\n');
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true); // tsc's own output
  try {
    expect(() => launcher.build(root, { quiet: true })).toThrow(
      /^the build failed \(tsc -p tsconfig\.build\.json, exit 2; errors above\): fix them, then run the command again$/,
    );
  } finally {
    stderr.mockRestore();
  }
  expect(launcher.staleness(root)).toBe('dist/ holds no finished build');
});

test('a lock left by a process that died is taken over', () => {
  const root = project();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const lock = path.join(root, 'dist', '.bucketmove-build.lock');
  fs.mkdirSync(lock, { recursive: true });
  fs.writeFileSync(path.join(lock, 'pid'), dead.stdout);
  expect(launcher.build(root, { quiet: true })).toBe(true);
  expect(fs.existsSync(lock)).toBe(false);
  expect(launcher.staleness(root)).toBeUndefined();
});
