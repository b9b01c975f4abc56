import type { Readable, Writable } from 'stream';

/**
 * `from` piped into `to`, returning `to`: as stream.pipeline(from, to, callback) joins them (an error or a premature
 * close of either destroys both, and the reader of `to` sees the error), without what pipeline sets up on every call
 * (an AbortController, aborted on every finish, which builds a DOMException: 1.4% of the migrator's CPU per object in
 * the bench's profile, where every object's decrypt is one such join). The codecs join a GET body to their decrypt with
 * it, and the copy of a large object its decrypt to the hasher its upload reads (migrate/copy-object.ts).
 */
export function pipeInto<T extends Writable>(from: Readable, to: T): T {
  from.on('error', (err) => to.destroy(err));
  from.on('close', () => {
    if (!from.readableEnded && !to.destroyed) to.destroy(prematureClose());
  });
  to.on('close', () => {
    if (!from.destroyed) from.destroy();
  });
  // As pipeline's callback takes it: the reader of `to` sees the error through its own listener, and an error that
  // comes after that reader has gone (a GET cut after the upload reading `to` failed) is not an uncaught exception.
  to.on('error', () => undefined);
  from.pipe(to);
  return to;
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
