/**
 * The bundles the stack tests synthesize with (Batch Operations, key rotation): `npm run build:lambda`'s own build (the
 * real handlers, esbuild), written once per test process into a temp folder and removed when the process exits, so
 * the tests never depend on (or change) dist/.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildLambdaBundle } from '../../scripts/build-lambda';
import { KEY_ROTATION_BUNDLE, LAMBDA_BUNDLE, type LambdaBundle } from '../../stacks/lambda-bundle';

const ROOT = path.resolve(__dirname, '..', '..');
let parent: string | undefined;
const built = new Map<string, string>();

function testBundleDir(bundle: LambdaBundle): string {
  if (!parent) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-lambda-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    parent = dir;
  }
  let dir = built.get(bundle.dir);
  if (!dir) {
    const out = buildLambdaBundle({
      entry: path.join(ROOT, bundle.entry),
      outdir: path.join(parent, path.basename(bundle.dir)),
      runtime: bundle.runtime,
    });
    dir = path.dirname(out.outfile);
    built.set(bundle.dir, dir);
  }
  return dir;
}

export function testLambdaBundleDir(): string {
  return testBundleDir(LAMBDA_BUNDLE);
}

export function testKeyRotationBundleDir(): string {
  return testBundleDir(KEY_ROTATION_BUNDLE);
}

/**
 * A snapshot-stable copy of a synthesized stack: the asset's content hash (it changes with every code change) is
 * masked.
 */
export function maskAssetHashes(text: string): string {
  return text.replace(/(assets\/[\w-]+\/)[0-9A-F]{32}(\/)/g, '$1<CONTENT-HASH>$2');
}
