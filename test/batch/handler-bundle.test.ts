/**
 * The function ships as one esbuild bundle of migrator/src/batch/handler.ts with no node_modules beside it: its import
 * graph must hold no native addon (better-sqlite3 and the loaders that find .node files) and need nothing at run time
 * but Node's built-in modules.
 */
import { builtinModules } from 'module';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { LAMBDA_BUNDLE } from '../../stacks/lambda-bundle';
import { esbuildTarget } from '../../stacks/lambda-runtimes';

const REPO = path.resolve(__dirname, '..', '..');

test('the handler bundles without SQLite or any native addon, requiring only Node built-ins', () => {
  const result = buildSync({
    entryPoints: [path.join(REPO, 'migrator/src/batch/handler.ts')],
    bundle: true,
    platform: 'node',
    target: esbuildTarget(LAMBDA_BUNDLE.runtime),
    format: 'cjs',
    mainFields: ['main', 'module'],
    write: false,
    outfile: 'index.js',
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.filter((i) => /better-sqlite3|node_modules\/bindings\/|\.node$/.test(i))).toEqual([]);
  expect(inputs.some((i) => i.endsWith('migrator/src/migrate/copy-object.ts'))).toBe(true);
  const builtins = new Set(builtinModules);
  const externals = Object.values(result.metafile.outputs).flatMap((o) =>
    o.imports.filter((i) => i.external).map((i) => i.path),
  );
  expect(externals.filter((p) => !p.startsWith('node:') && !builtins.has(p.split('/')[0]))).toEqual([]);
});
