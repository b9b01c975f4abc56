/**
 * `npm run build:lambda`: bundles each function's handler (stacks/lambda-bundle.ts LAMBDA_BUNDLES: the Batch Operations
 * copy function, migrator/src/batch/handler.ts, and the key rotation function) with esbuild into one
 * CommonJS file for the Node.js major of the functions' Lambda runtime (stacks/lambda-bundle.ts LAMBDA_RUNTIME, esbuild
 * target from stacks/lambda-runtimes.ts), `dist/lambda/batch-copy/index.js` and `dist/lambda/key-rotation/index.js`,
 * which the primary stack packages for the functions.
 *
 * Everything is bundled, the AWS SDK included: the runtime's own copy of the SDK has another version than the one this
 * repository pins and tests, so the bundle must not depend on it. A Lambda zip holds no node_modules, so the build
 * fails unless the bundle's only remaining `require`s are Node's built-in modules, and fails if it would load a native
 * addon (a `.node` file, or a package that finds one at run time such as better-sqlite3): the handler must not import
 * those.
 *
 * The bundle is written to a temporary folder beside the target and moved into place only once it passed the checks,
 * so a failed build leaves the previous bundle (or none), never a half-written one.
 *
 * The build is reproducible down to the zip the stack makes of it: esbuild's output depends only on the sources, and
 * the file gets a fixed mode and modification time (cdktf's TerraformAsset zips the folder with each file's mtime), so
 * rebuilding unchanged code gives the same `source_code_hash` and Terraform plans no update of the function.
 */
import { builtinModules } from 'module';
import * as fs from 'fs';
import * as path from 'path';
import { buildSync, type Metafile } from 'esbuild';
import { LAMBDA_BUNDLE, LAMBDA_BUNDLES } from '../stacks/lambda-bundle';
import { esbuildTarget } from '../stacks/lambda-runtimes';
import { displayPath, repoRoot } from '../workspaces/load';
import { ConfigError } from '../workspaces/errors';

/** The modification time of the bundle file (zip entries carry it; any fixed time after 1980, the zip epoch). */
export const BUNDLE_MTIME = new Date('2000-01-01T00:00:00Z');

/** Packages that load a native addon at run time (their JavaScript bundles fine, then fails on Lambda). */
export const NATIVE_LOADERS = [
  'better-sqlite3',
  'bindings',
  'node-gyp-build',
  'prebuild-install',
  'node-pre-gyp',
  '@mapbox/node-pre-gyp',
];

export interface BundleOptions {
  /** The handler module. */
  entry: string;
  /** The folder to write index.js into (replaced as a whole). */
  outdir: string;
  /** The Lambda runtime the bundle runs on (its Node major is esbuild's target); default the stacks' runtime. */
  runtime?: string;
}

export interface BundleResult {
  outfile: string;
  bytes: number;
  /** How many source files went into the bundle. */
  inputs: number;
}

const BUILTINS = new Set(builtinModules);
const isBuiltin = (p: string) => p.startsWith('node:') || BUILTINS.has(p) || BUILTINS.has(p.split('/')[0]);

/** Why a bundle would not run on Lambda, or undefined. Pure: reads only the metafile and the bundle's text. */
export function bundleProblem(meta: Metafile, outfile: string, code: string): string | undefined {
  const native = Object.keys(meta.inputs).find((input) => input.endsWith('.node'));
  if (native) return `it would load the native addon ${native}`;
  for (const input of Object.keys(meta.inputs)) {
    const pkg = NATIVE_LOADERS.find((name) => input.includes(`node_modules/${name}/`));
    if (pkg) return `it imports ${pkg}, which loads a native addon (${input}); the handler must not import it`;
  }
  const output = Object.entries(meta.outputs).find(([file]) => path.resolve(file) === path.resolve(outfile));
  const external = (output?.[1].imports ?? []).filter((i) => i.external && !isBuiltin(i.path)).map((i) => i.path);
  if (external.length)
    return `it requires ${[...new Set(external)].join(', ')} at run time, which a Lambda zip does not hold`;
  const addon = /\brequire\(\s*["'`]([^"'`]+\.node)["'`]\s*\)|["'`]([\w.@/-]+\.node)["'`]/.exec(code);
  if (addon) return `it refers to the native addon "${addon[1] ?? addon[2]}"`;
  return undefined;
}

/** Builds synchronously (esbuild's buildSync), so that tests and the synth can call it at module load. */
export function buildLambdaBundle(options: BundleOptions): BundleResult {
  const entry = path.resolve(options.entry);
  const outdir = path.resolve(options.outdir);
  if (!fs.existsSync(entry)) throw new ConfigError(`build:lambda: the handler ${displayPath(entry)} does not exist`);
  fs.mkdirSync(path.dirname(outdir), { recursive: true });
  const staging = fs.mkdtempSync(`${outdir}.tmp-`);
  fs.chmodSync(staging, 0o755);
  try {
    const outfile = path.join(staging, LAMBDA_BUNDLE.file);
    let meta: Metafile;
    try {
      const result = buildSync({
        entryPoints: [entry],
        outfile,
        bundle: true,
        platform: 'node',
        target: esbuildTarget(options.runtime ?? LAMBDA_BUNDLE.runtime),
        format: 'cjs',
        // Prefer each package's CommonJS build (the SDK ships both); keeps `require` semantics of the tested code.
        mainFields: ['main', 'module'],
        metafile: true,
        logLevel: 'silent',
        legalComments: 'none',
      });
      meta = result.metafile;
    } catch (err) {
      const first = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
        .errors?.[0];
      const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
      throw new ConfigError(
        `build:lambda: esbuild failed: ${first?.text ?? (err as Error).message.split('\n')[0]}${where}`,
      );
    }
    const code = fs.readFileSync(outfile, 'utf8');
    const problem = bundleProblem(meta, path.relative(process.cwd(), outfile), code);
    if (problem)
      throw new ConfigError(`build:lambda: the bundle of ${displayPath(entry)} cannot run on Lambda: ${problem}`);
    fs.chmodSync(outfile, 0o644);
    fs.utimesSync(outfile, BUNDLE_MTIME, BUNDLE_MTIME);
    fs.rmSync(outdir, { recursive: true, force: true });
    fs.renameSync(staging, outdir);
    return {
      outfile: path.join(outdir, LAMBDA_BUNDLE.file),
      bytes: Buffer.byteLength(code),
      inputs: Object.keys(meta.inputs).length,
    };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const root = repoRoot();
  try {
    for (const bundle of LAMBDA_BUNDLES) {
      const r = buildLambdaBundle({
        entry: path.join(root, bundle.entry),
        outdir: path.join(root, bundle.dir),
        runtime: bundle.runtime,
      });
      process.stdout.write(
        `build:lambda: wrote ${displayPath(r.outfile)} (${(r.bytes / 1024).toFixed(0)} KiB from ${r.inputs} files)\n`,
      );
    }
  } catch (err) {
    process.stderr.write(
      `bucketmove: ${err instanceof ConfigError ? err.message : `build:lambda: ${(err as Error).message.split('\n')[0]}`}\n`,
    );
    process.exitCode = 1;
  }
}
