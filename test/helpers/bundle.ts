/**
 * One of the repository's entry points (a CLI, the photo service) bundled with esbuild into one file of its own
 * sources, packages left in node_modules: it starts in about a second where ts-node takes several on a loaded
 * machine, for tests that start processes many times. Built once per test process (from the sources as they are),
 * into node_modules/.cache/bucketmove-test/ (inside the repository, so that packages and the repository root are found
 * from the bundle as from the sources): written beside, then renamed into place, so test processes building at once
 * never run a half-written bundle, and nothing piles up.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';

const REPO = path.resolve(__dirname, '..', '..');
const DIR = path.join(REPO, 'node_modules', '.cache', 'bucketmove-test');
const built = new Map<string, string>();

/** The bundle of `entry` (a path relative to the repository root); its behaviour is the sources'. */
export function bundled(entry: string): string {
  let outfile = built.get(entry);
  if (!outfile) {
    outfile = path.join(DIR, entry.replace(/\.ts$/, '.js'));
    const partial = `${outfile}.${process.pid}.partial.js`;
    buildSync({
      entryPoints: [path.join(REPO, entry)],
      outfile: partial,
      bundle: true,
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
    });
    fs.renameSync(partial, outfile);
    built.set(entry, outfile);
  }
  return outfile;
}
