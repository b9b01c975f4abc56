/**
 * Where the Batch Operations function's code is: `npm run build:lambda` (scripts/build-lambda.ts) bundles the handler
 * into one CommonJS file in BUNDLE_DIR, and the primary stack packages that folder as a TerraformAsset (a zip in the
 * synthesized stack) for the function. The stack never builds code itself: a missing bundle is a one-line error.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, displayPath, repoRoot } from '../workspaces/load';
import type { LambdaRuntime } from './lambda-runtimes';

/**
 * The runtime of the stacks' functions: the Node.js runtime AWS supports longest (stacks/lambda-runtimes.ts has its
 * dates; synth refuses it once AWS blocks creating functions with it). The bundle's esbuild target follows it, and a
 * test runs the bundle on this Node major (test/lambda-bundle.test.ts).
 */
export const LAMBDA_RUNTIME: LambdaRuntime = 'nodejs24.x';

export const LAMBDA_BUNDLE = {
  /** The handler module, relative to the repository root. */
  entry: 'migrator/src/batch/handler.ts',
  /** The folder the bundle is written to (and packaged from), relative to the repository root. */
  dir: 'dist/lambda/batch-copy',
  /** The one file in it. */
  file: 'index.js',
  /** The function's handler setting: file index.js, export `handler`. */
  handler: 'index.handler',
  runtime: LAMBDA_RUNTIME,
} as const;

/** The bundle folder of the repository this module belongs to. */
export function defaultLambdaBundleDir(): string {
  return path.join(repoRoot(), LAMBDA_BUNDLE.dir);
}

/** Throws a one-line ConfigError unless `dir` holds the built bundle. */
export function checkLambdaBundle(dir: string, envs: string[]): void {
  const file = path.join(dir, LAMBDA_BUNDLE.file);
  if (!fs.existsSync(file)) {
    throw new ConfigError(
      `${displayPath(file)} is missing (batchOperations is enabled for ${envs.join(', ')}): run \`npm run build:lambda\` first`,
    );
  }
}
