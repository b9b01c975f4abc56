/**
 * The two packages agree on what they share: the tests (the root package's) import the AWS SDK, pino and csv-parse
 * themselves, so the root's devDependencies name them too (knip checks that), and at the migrator's own version
 * range, so npm installs one copy and the tests run the code the migrator ships with.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');

interface PackageJson {
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

const read = (file: string): PackageJson => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as PackageJson;

test('a package both package.json files name has the same version range in both', () => {
  const root = read('package.json');
  const migrator = read('migrator/package.json').dependencies ?? {};
  const rootRanges = { ...root.dependencies, ...root.devDependencies };
  const shared = Object.keys(migrator).filter((name) => name in rootRanges);
  expect(shared).toEqual(expect.arrayContaining(['@aws-sdk/client-s3', 'pino', 'zod']));
  expect(shared.map((name) => [name, rootRanges[name]])).toEqual(shared.map((name) => [name, migrator[name]]));
});
