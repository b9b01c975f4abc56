/**
 * pipeInto (migrator/src/pipe-into.ts) joins a GET body to a codec's decrypt stream as stream.pipeline does:
 * bytes flow; an error or a premature close of the source fails the destination's reader; a destination that fails or
 * is destroyed destroys the source (the GET's socket is let go).
 */
import { PassThrough, Readable, Transform } from 'stream';
import { pipeInto } from '../migrator/src/pipe-into';

const collect = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
};

describe('pipeInto', () => {
  test('the bytes flow and the destination ends', async () => {
    expect(await collect(pipeInto(Readable.from([Buffer.from('a'), Buffer.from('b')]), new PassThrough()))).toBe('ab');
  });

  test("an error of the source fails the destination's reader", async () => {
    const source = new Readable({ read() {} });
    const out = pipeInto(source, new PassThrough());
    source.push('a');
    setImmediate(() => source.destroy(new Error('connection reset')));
    await expect(collect(out)).rejects.toThrow('connection reset');
  });

  test("a source closed before its end (no error) fails the destination's reader too", async () => {
    const source = new Readable({ read() {} });
    const out = pipeInto(source, new PassThrough());
    source.push('a');
    setImmediate(() => source.destroy());
    await expect(collect(out)).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  test('a destination that fails destroys the source', async () => {
    const source = new Readable({ read() {} });
    const failing = new Transform({
      transform(_c, _e, done) {
        done(new Error('does not authenticate'));
      },
    });
    const out = pipeInto(source, failing);
    source.push('a');
    await expect(collect(out)).rejects.toThrow('does not authenticate');
    await new Promise((r) => setImmediate(r));
    expect(source.destroyed).toBe(true);
  });

  test("an error after the destination's reader has gone is no uncaught exception (as pipeline's callback takes it)", async () => {
    // A GET cut after the upload reading `out` gave up (its request failed first): nobody reads `out` any more.
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const source = new Readable({ read() {} });
      const out = pipeInto(source, new PassThrough());
      source.push('a');
      source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      await new Promise((r) => setTimeout(r, 20));
      expect(out.destroyed).toBe(true);
      expect(out.errored).toMatchObject({ message: 'aborted' });
      expect(uncaught).toEqual([]);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });

  test('a reader that stops early destroys the source', async () => {
    const source = new Readable({ read() {} });
    const out = pipeInto(source, new PassThrough());
    source.push('a');
    for await (const _ of out) break;
    await new Promise((r) => setImmediate(r));
    expect(source.destroyed).toBe(true);
  });
});
