/**
 * The Batch Operations bundle the stack tests synthesize with: `npm run build:lambda`'s own build (the real handler,
 * esbuild), written once per test process into a temp folder and removed when the process exits, so the tests never
 * depend on (or change) dist/.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildLambdaBundle } from '../../scripts/build-lambda';
import { LAMBDA_BUNDLE } from '../../stacks/lambda-bundle';

const ROOT = path.resolve(__dirname, '..', '..');
let dir: string | undefined;

export function testLambdaBundleDir(): string {
  if (!dir) {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'bucketmove-lambda-'));
    process.once('exit', () => fs.rmSync(parent, { recursive: true, force: true }));
    dir = buildLambdaBundle({ entry: path.join(ROOT, LAMBDA_BUNDLE.entry), outdir: path.join(parent, 'batch-copy') }).outfile;
    dir = path.dirname(dir);
  }
  return dir;
}

/** A snapshot-stable copy of a synthesized stack: the asset's content hash (it changes with every code change) is masked. */
export function maskAssetHashes(text: string): string {
  return text.replace(/(assets\/[\w-]+\/)[0-9A-F]{32}(\/)/g, '$1<CONTENT-HASH>$2');
}
