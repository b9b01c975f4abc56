/**
 * npm run -s photo-service
 *
 * The reference photo service, wired the way an app is: everything from the environment (the store's variables in
 * migrator/src/store/config.ts, plus PORT, HOST and PHOTO_SERVICE_MAX_BYTES), JSON log lines on stdout (the store's
 * fallback hits and heartbeats among them: redirect stdout to a file and the audit can count the hits and measure how
 * much of its window the file covers). SIGTERM or SIGINT stops it gracefully, the store's last heartbeat included.
 */
import * as http from 'http';
import { ConfigError } from '../../../workspaces/load';
import { runCli } from '../cli/run-cli';
import { createLogger } from '../log';
import { createStoreFromEnv, StoreError } from '../store';
import { photoHandler } from './photo-service';

function intEnv(name: string, dflt: number, min: number, max: number): number {
  const text = process.env[name]?.trim();
  if (!text) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  return n;
}

async function main(): Promise<number> {
  const port = intEnv('PORT', 8080, 0, 65535);
  const host = process.env.HOST?.trim() || '127.0.0.1';
  const maxBytes = intEnv('PHOTO_SERVICE_MAX_BYTES', 25 * 1024 * 1024, 1, 5 * 1024 ** 3);
  const log = createLogger({ name: 'photo-service', destination: 1 });
  const store = await createStoreFromEnv(process.env, { logger: log });
  try {
    await store.preflight();
  } catch (err) {
    await store.close();
    if (err instanceof StoreError) throw new ConfigError(`cannot start: ${err.message}; check the buckets, endpoints and keys`);
    throw err;
  }

  const server = http.createServer(photoHandler(store, { maxBytes, log }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? new ConfigError(`cannot listen on ${host}:${port} (${err.code}); set PORT or HOST`) : err),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address() as { port: number };
  log.info({ event: 'service.listening', host, port: address.port, mode: store.mode }, `photo service listening on http://${host}:${address.port} (${store.mode})`);

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ event: 'service.stopping', signal }, 'stopping: finishing the requests in flight');
      server.close(() => resolve());
      server.closeIdleConnections();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await store.close();
  log.info({ event: 'service.stopped', counts: store.counts() }, 'photo service stopped');
  return 0;
}

if (require.main === module) runCli('photo-service', main);
