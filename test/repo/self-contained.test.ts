/**
 * The project stands alone: a user's clone has nothing beside it, so no tracked file may read outside the
 * repository. This looks at every tracked text file for relative paths (string literals such as '../../x' or
 * path.resolve(__dirname, '..', 'x')) that climb above the repository root from the file's own folder, and for the
 * folder beside the repository that this project's own CI happens to have.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');
const TEXT = /\.(ts|js|cjs|mjs|json|sh|py|md|yml|yaml)$|^\.ci\/run$/;

function trackedFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  // This file is left out: it spells the very paths it looks for.
  return out
    .split('\0')
    .filter((f) => f && TEXT.test(f) && f !== 'package-lock.json' && f !== 'test/repo/self-contained.test.ts');
}

/** The relative paths a line of code names, as string literals or as '..' arguments joined by path.join/resolve. */
export function relativePathsIn(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/['"`]((?:\.\.\/)+[^'"`\s]*)['"`]/g)) found.push(m[1]);
  for (const m of source.matchAll(/path\.(?:join|resolve)\(\s*__dirname\s*,((?:\s*['"][^'"]*['"]\s*,?)+)\)/g)) {
    const parts = [...m[1].matchAll(/['"]([^'"]*)['"]/g)].map((p) => p[1]);
    found.push(path.posix.join(...parts));
  }
  return [...new Set(found)];
}

describe('the repository stands alone', () => {
  const files = trackedFiles();

  test('there are tracked files to look at', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('test/fixtures/fernet-spec/generate.json');
  });

  test('no tracked code names a path above the repository root', () => {
    const escapes: string[] = [];
    for (const file of files.filter((f) => /\.(ts|js|cjs|mjs|sh)$|^\.ci\/run$/.test(f))) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
      for (const rel of relativePathsIn(code)) {
        const resolved = path.resolve(ROOT, path.dirname(file), rel);
        if (resolved !== ROOT && !resolved.startsWith(ROOT + path.sep)) escapes.push(`${file}: ${rel}`);
      }
    }
    expect(escapes).toEqual([]);
  });

  test('no tracked file reads the folder beside the repository that only CI has', () => {
    const readers = files.filter((f) => {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
      return /(\.\.\/)+shared\/(vectors|docs|hooks)|\/work\/shared/.test(text) && !f.endsWith('.md');
    });
    expect(readers).toEqual([]);
  });

  test('the detector sees what it is meant to see', () => {
    expect(relativePathsIn(`const V = path.resolve(__dirname, '../../../shared/vectors/fernet');`)).toEqual([
      '../../../shared/vectors/fernet',
    ]);
    expect(relativePathsIn(`path.join(__dirname, '..', '..', 'x')`)).toEqual(['../../x']);
    expect(relativePathsIn(`import { a } from './b';`)).toEqual([]);
  });
});
