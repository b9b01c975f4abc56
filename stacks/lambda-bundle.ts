/**
 * Where the functions' code is: `npm run build:lambda` (scripts/build-lambda.ts) bundles each handler into one
 * CommonJS file in its folder, and the primary stack packages that folder as a TerraformAsset (a zip in the
 * synthesized stack) for the function. The stack never builds code itself: a missing bundle is a one-line error.
 * Two bundles: the Batch Operations copy function (LAMBDA_BUNDLE) and the key rotation function (KEY_ROTATION_BUNDLE).
 */
import * as fs from 'fs';
import * as path from 'path';
import { displayPath, repoRoot } from '../workspaces/load';
import { ConfigError } from '../workspaces/errors';
import type { LambdaRuntime } from './lambda-runtimes';

/**
 * The runtime of the stacks' functions: of the Node.js runtimes AWS supports (stacks/lambda-runtimes.ts has their
 * dates; synth refuses one once AWS blocks creating functions with it), the one supported longest that the pinned
 * provider accepts. nodejs24.x is supported longer (to 2028), but hashicorp/aws 5.100.0, the provider pinned here
 * (@cdktf/provider-aws 20.1.0), validates `runtime` against a list that ends at nodejs22.x, so `terraform validate`
 * refuses it (test/stacks/terraform.test.ts proves both): move to nodejs24.x together with a provider that lists it
 * (6.x). The bundle's esbuild target follows this runtime, and a test runs the bundle on its Node major.
 */
export const LAMBDA_RUNTIME: LambdaRuntime = 'nodejs22.x';

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

/** The Secrets Manager rotation function of the users' access keys (migrator/src/keys/rotation-handler.ts). */
export const KEY_ROTATION_BUNDLE = {
  entry: 'migrator/src/keys/rotation-handler.ts',
  dir: 'dist/lambda/key-rotation',
  file: 'index.js',
  handler: 'index.handler',
  runtime: LAMBDA_RUNTIME,
} as const;

export type LambdaBundle = typeof LAMBDA_BUNDLE | typeof KEY_ROTATION_BUNDLE;

/** Every bundle `npm run build:lambda` builds. */
export const LAMBDA_BUNDLES: readonly LambdaBundle[] = [LAMBDA_BUNDLE, KEY_ROTATION_BUNDLE];

/** The Batch Operations bundle folder of the repository this module belongs to. */
export function defaultLambdaBundleDir(): string {
  return path.join(repoRoot(), LAMBDA_BUNDLE.dir);
}

/** The key rotation bundle folder of the repository this module belongs to. */
export function defaultKeyRotationBundleDir(): string {
  return path.join(repoRoot(), KEY_ROTATION_BUNDLE.dir);
}

/** Throws a one-line ConfigError unless `dir` holds a built bundle; `why` says which envs need it. */
export function checkLambdaBundle(dir: string, envs: string[], why = 'batchOperations is enabled for'): void {
  const file = path.join(dir, LAMBDA_BUNDLE.file);
  if (!fs.existsSync(file)) {
    throw new ConfigError(
      `${displayPath(file)} is missing (${why} ${envs.join(', ')}): run \`npm run build:lambda\` first`,
    );
  }
}
