/**
 * How a server on the store runs (the reference photo service, the S3-API gateway): whole-number settings from the
 * environment, listening with a one-line ConfigError for a port in use, /healthz and /metrics, and a graceful stop on
 * SIGTERM or SIGINT (the requests in flight are answered, then each connection is closed as soon as it is idle).
 */
import type * as http from 'http';
import type { IncomingMessage } from 'http';
import type { Logger } from 'pino';
import { ConfigError } from '../../../workspaces/errors';
import type { PhotoStore } from '../store';

export function intEnv(
  name: string,
  dflt: number,
  min: number,
  max: number,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const text = env[name]?.trim();
  if (!text) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  return n;
}

/** Listens; a port in use or not allowed is a ConfigError naming what to change. Resolves to the bound port. */
export async function listen(server: http.Server, host: string, port: number, fix: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL'
          ? new ConfigError(`cannot listen on ${host}:${port} (${err.code}); ${fix}`)
          : err,
      ),
    );
    server.listen(port, host, resolve);
  });
  return (server.address() as { port: number }).port;
}

/** The answer to GET /healthz or /metrics, or undefined for another path. */
export function healthOrMetrics(store: PhotoStore, path: string): unknown {
  if (path === '/healthz') return { status: 'ok', mode: store.mode };
  if (path === '/metrics') return store.counts();
  return undefined;
}

/** Resolves once SIGTERM or SIGINT came and every server finished its requests in flight and closed. */
export function untilStopped(servers: readonly http.Server[], log: Logger, event: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ event, signal }, 'stopping: finishing the requests in flight');
      // A connection whose response ends after close() would otherwise stay open for the whole keep-alive time.
      const sweep = setInterval(() => servers.forEach((s) => s.closeIdleConnections()), 100);
      let open = servers.length;
      for (const s of servers) {
        s.close(() => {
          if (--open === 0) {
            clearInterval(sweep);
            resolve();
          }
        });
        s.closeIdleConnections();
      }
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/**
 * After a refusal for size, this much more of the upload is read and dropped, so that the client gets to read the
 * answer.
 */
const DISCARD_BYTES = 16 * 1024 * 1024;

/**
 * The request body, up to `max` bytes. Past it: the `tooLarge` error, once the rest of the upload has been read and
 * dropped (clients that write the whole body before reading, as fetch does, see the answer instead of a broken pipe);
 * an upload more than DISCARD_BYTES over the limit gets its connection closed instead. A body that ends early is the
 * `cutShort` error.
 */
export function readBounded(
  req: IncomingMessage,
  max: number,
  errors: { tooLarge: () => Error; cutShort: () => Error },
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max + DISCARD_BYTES) return Promise.reject(errors.tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else if (size > max + DISCARD_BYTES) req.destroy();
    });
    req.once('end', () => (size > max ? reject(errors.tooLarge()) : resolve(Buffer.concat(chunks, size))));
    req.once('close', () => reject(errors.cutShort()));
  });
}
