/**
 * readBounded and readAll (migrator/src/read-bounded.ts): a stream read whole; readBounded refuses past its bound and
 * lets the source go; readAll joins what comes, and gives a single chunk back as it is (no copy of a small plaintext).
 */
import { Readable } from 'stream';
import { readAll, readBounded } from '../migrator/src/read-bounded';

describe('readBounded', () => {
  test('joins the chunks up to the bound', async () => {
    const out = await readBounded(Readable.from([Buffer.from('ab'), 'cd']), 4, () => new Error('too large'));
    expect(out.toString()).toBe('abcd');
  });

  test('refuses one byte past the bound and destroys the source', async () => {
    const source = Readable.from([Buffer.from('ab'), Buffer.from('cde'), Buffer.from('never read')]);
    const seen: number[] = [];
    await expect(
      readBounded(source, 4, (n) => {
        seen.push(n);
        return new Error(`over 4 bytes: ${n}`);
      }),
    ).rejects.toThrow('over 4 bytes: 5');
    expect(seen).toEqual([5]);
    expect(source.destroyed).toBe(true);
  });
});

describe('readAll', () => {
  test('one chunk comes back as the same buffer, not a copy', async () => {
    const chunk = Buffer.from('one piece');
    expect(await readAll(Readable.from([chunk]))).toBe(chunk);
  });

  test('several chunks are joined in order; an empty stream gives an empty buffer', async () => {
    expect((await readAll(Readable.from([Buffer.from('a'), 'b', Buffer.from('c')]))).toString()).toBe('abc');
    expect((await readAll(Readable.from([]))).length).toBe(0);
  });

  test("a source's error rejects", async () => {
    const source = new Readable({ read() {} });
    source.push('a');
    setImmediate(() => source.destroy(new Error('connection reset')));
    await expect(readAll(source)).rejects.toThrow('connection reset');
  });
});
