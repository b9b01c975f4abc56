/**
 * Sharding (`migrate --shard i/n`): the hash that splits the keys is stable (fixed expected shards, so a change of the
 * hash is caught), puts every key in exactly one shard, spreads keys evenly; bad --shard values are one line naming
 * the fix; a shard's checkpoint is refused to another shard and to an unsharded run.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { formatShard, inShard, MAX_SHARDS, parseShard, shardOfKey } from '../../migrator/src/sources/shard';
import { defaultCheckpointPath } from '../../migrator/src/state-paths';
import { ConfigError } from '../../workspaces/errors';
import { runCliScript } from '../helpers/cli';
import { tmpDirPerFile } from '../helpers/tmp';

jest.setTimeout(60_000);
const tmpDir = tmpDirPerFile('bm-shard-');

describe('shardOfKey: a stable hash', () => {
  test.each([
    // key, shard among 2, 4, 7, 16, 4096 (0-based)
    ['chats/0001/photo.jpg', [1, 1, 0, 5, 3973]],
    ['chats/0002/photo.jpg', [1, 1, 6, 13, 1293]],
    ['chats/42/a b+c.jpg', [0, 2, 6, 2, 1250]],
    ['fotos/ñandú 😀.png', [1, 1, 5, 13, 4029]],
    ['', [0, 0, 1, 4, 3092]],
    ['x', [0, 0, 1, 4, 68]],
  ])('%j always falls in the same shards', (key, expected) => {
    expect([2, 4, 7, 16, 4096].map((n) => shardOfKey(key as string, n))).toEqual(expected);
  });

  test('is the first 8 bytes of SHA-256 over the UTF-8 key, big-endian, modulo n', () => {
    for (const key of ['chats/0001/photo.jpg', 'fotos/ñandú 😀.png', 'a\u0000b']) {
      const first8 = BigInt(`0x${createHash('sha256').update(Buffer.from(key, 'utf8')).digest('hex').slice(0, 16)}`);
      for (const n of [3, 16, 1000]) expect(shardOfKey(key, n)).toBe(Number(first8 % BigInt(n)));
    }
  });

  test('every key is in exactly one shard, for n = 1 to 16', () => {
    const keys = Array.from({ length: 2000 }, (_, i) =>
      i % 3 === 0 ? `chats/${i}/photo.jpg` : i % 3 === 1 ? `ünï/${i} +%2F?.png` : `${'\u{1F600}'.repeat(i % 4)}${i}`,
    );
    for (let n = 1; n <= 16; n++) {
      for (const key of keys) {
        const owners = Array.from({ length: n }, (_, i) => i + 1).filter((index) => inShard(key, { index, count: n }));
        expect([key, n, owners.length]).toEqual([key, n, 1]);
        expect(owners[0]).toBe(shardOfKey(key, n) + 1);
      }
    }
    expect(inShard('anything', undefined)).toBe(true);
  });

  test('spreads 100,000 keys with a common prefix evenly (chi-square and max/min bounds)', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `chats/${Math.floor(i / 10)}/photo-${i % 10}.jpg`);
    for (const n of [4, 7, 16]) {
      const counts = new Array<number>(n).fill(0);
      for (const key of keys) counts[shardOfKey(key, n)]++;
      const expected = keys.length / n;
      const chiSquare = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
      // The 99.9th percentile of chi-square with n-1 degrees of freedom is below 4n + 10 for these n (16.3, 22.5,
      // 37.7).
      expect({ n, chiSquare: chiSquare < 4 * n + 10 }).toEqual({ n, chiSquare: true });
      expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(1.1);
    }
  });
});

describe('parseShard', () => {
  test('reads i/n (spaces and leading zeros allowed) and formats it back', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShard(' 03 / 16 ')).toEqual({ index: 3, count: 16 });
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
    expect(formatShard(parseShard(`${MAX_SHARDS}/${MAX_SHARDS}`))).toBe(`${MAX_SHARDS}/${MAX_SHARDS}`);
  });

  test.each([
    ['2', /^--shard "2" is not i\/n: give the task's number and the number of tasks, e\.g\. --shard 2\/4$/],
    ['two/four', /^--shard "two\/four" is not i\/n: .* e\.g\. --shard 2\/4$/],
    ['-1/4', /^--shard "-1\/4" is not i\/n/],
    ['1.5/4', /^--shard "1\.5\/4" is not i\/n/],
    ['0/4', /^--shard 0\/4: the task's number must be 1 to 4$/],
    ['5/4', /^--shard 5\/4: the task's number must be 1 to 4$/],
    ['1/0', /^--shard 1\/0: the number of tasks must be 1 to 4096$/],
    ['1/5000', /^--shard 1\/5000: the number of tasks must be 1 to 4096$/],
  ])('%j is refused with one line that names the fix', (text, message) => {
    expect(() => parseShard(text)).toThrow(message);
  });
});

describe("a shard's checkpoint", () => {
  const id = { env: 'local', legacyBucket: 'old', newBucket: 'new', prefix: '' };

  test('has a default path per shard; 1/1 is the unsharded default', () => {
    expect(defaultCheckpointPath('prod', '.', { index: 2, count: 4 })).toBe(
      path.join('.bucketmove', 'prod', 'checkpoint-shard-2-of-4.sqlite'),
    );
    expect(defaultCheckpointPath('prod', '.', { index: 1, count: 1 })).toBe(
      path.join('.bucketmove', 'prod', 'checkpoint.sqlite'),
    );
  });

  test('is refused for another shard and for an unsharded run, with one line naming the shard; it reopens for its own', () => {
    const file = path.join(tmpDir(), 'cp.sqlite');
    Checkpoint.open(file, { ...id, shard: '1/4' }).close();
    const open = (identity: Parameters<typeof Checkpoint.open>[1]) => () => Checkpoint.open(file, identity).close();
    expect(open({ ...id, shard: '2/4' })).toThrow(ConfigError);
    expect(open({ ...id, shard: '2/4' })).toThrow(
      /^checkpoint .*cp\.sqlite belongs to another migration \(env local, old -> new, prefix "", shard 1\/4\); give another --checkpoint path$/,
    );
    expect(open({ ...id, shard: '1/8' })).toThrow(/shard 1\/4\); give another --checkpoint path$/);
    expect(open(id)).toThrow(/shard 1\/4\); give another --checkpoint path$/);
    expect(open({ ...id, shard: '1/4' })).not.toThrow();
    // And an unsharded checkpoint is refused to a shard.
    const plain = path.join(tmpDir(), 'plain.sqlite');
    Checkpoint.open(plain, id).close();
    expect(() => Checkpoint.open(plain, { ...id, shard: '3/4' })).toThrow(
      /^checkpoint .*plain\.sqlite belongs to another migration \(env local, old -> new, prefix ""\)/,
    );
  });
});

describe('npm run migrate with a bad --shard: one line, exit 2, nothing written', () => {
  test.each([
    [['--shard', '5/4'], /^migrate: --shard 5\/4: the task's number must be 1 to 4\n$/],
    [['--shard', 'half'], /^migrate: --shard "half" is not i\/n: .* e\.g\. --shard 2\/4\n$/],
    [['--shard', '1/4', '--shard', '2/4'], /^migrate: --shard is given more than once: give this task's one i\/n\n$/],
    [['--shard', '1/4', '--dry-run'], /^migrate: --dry-run looks at the whole source; give it without --shard\n$/],
  ])('%j', async (args, pattern) => {
    const cwd = tmpDir();
    const run = await runCliScript('migrate', ['--env', 'local', ...(args as string[])], { cwd });
    expect({ code: run.code, stderr: run.stderr, stdout: run.stdout }).toEqual({
      code: 2,
      stderr: expect.stringMatching(pattern as RegExp),
      stdout: '',
    });
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});
