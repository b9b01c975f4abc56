import { Readable } from 'stream';

/** Reads a stream to its end; resolves with the bytes, or rejects with its error. Records whether 'end' fired. */
export async function collect(stream: Readable): Promise<{ data: Buffer; ended: boolean }> {
  const chunks: Buffer[] = [];
  let ended = false;
  stream.on('end', () => (ended = true));
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { data: Buffer.concat(chunks), ended };
}

/** Like `collect`, but for a stream expected to fail: returns the error and whether 'end' fired before it. */
export async function collectFailure(stream: Readable): Promise<{ error: unknown; ended: boolean; bytes: number }> {
  let ended = false;
  let bytes = 0;
  stream.on('end', () => (ended = true));
  try {
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
  } catch (error) {
    return { error, ended, bytes };
  }
  throw new Error(`the stream ended cleanly after ${bytes} bytes; a failure was expected`);
}

/** A stream of `data` in chunks of `chunkSize` bytes (to exercise boundaries). */
export function chunked(data: Buffer, chunkSize: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) parts.push(data.subarray(i, i + chunkSize));
  return Readable.from(parts, { objectMode: false });
}
