/**
 * One of the repository's entry points (a CLI, the photo service) bundled with esbuild into one file of its own
 * sources, packages left in node_modules: it starts in about a second where ts-node takes several on a loaded
 * machine, for tests that start processes many times. Built once per test process, into a folder of its own under
 * node_modules/.cache (inside the repository, so that packages and the repository root are found from the bundle as
 * from the sources), removed when the process exits.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';

const REPO = path.resolve(__dirname, '..', '..');
const built = new Map<string, string>();
let dir: string | undefined;

/** The bundle of `entry` (a path relative to the repository root); its behaviour is the sources'. */
export function bundled(entry: string): string {
  let outfile = built.get(entry);
  if (!outfile) {
    if (!dir) {
      const cache = path.join(REPO, 'node_modules', '.cache');
      fs.mkdirSync(cache, { recursive: true });
      const made = fs.mkdtempSync(path.join(cache, 'bucketmove-test-'));
      process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
      dir = made;
    }
    outfile = path.join(dir, entry.replace(/\.ts$/, '.js'));
    buildSync({ entryPoints: [path.join(REPO, entry)], outfile, bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'error' });
    built.set(entry, outfile);
  }
  return outfile;
}
