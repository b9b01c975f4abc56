/**
 * npm run -s photo-service
 *
 * The reference photo service, wired the way an app is: everything from the environment (the store's variables in
 * migrator/src/store/config.ts, plus PORT, HOST, PHOTO_SERVICE_MAX_BYTES and PHOTO_SERVICE_KEEP_ALIVE_MS), JSON log lines
 * on stdout (the store's fallback hits and heartbeats among them: redirect stdout to a file and the audit can count the
 * hits and measure how much of its window the file covers). SIGTERM or SIGINT stops it gracefully: the requests in
 * flight are answered, then each connection is closed as soon as it is idle, and the store writes its last heartbeat.
 *
 * Behind a load balancer, an idle connection must outlive the balancer's idle timeout, or the balancer may send a
 * request on a connection the service is just closing and answer it 502 ("configure the idle timeout of your
 * application to be larger than the idle timeout configured for the load balancer", AWS's Application Load Balancer
 * guide, "Connection idle timeout"; its default is 60 s): keep-alive is 65 s by default, not Node's 5 s.
 */
import * as http from 'http';
import { ConfigError } from '../../../workspaces/load';
import { runCli } from '../cli/run-cli';
import { createLogger } from '../log';
import { createStoreFromEnv, StoreError } from '../store';
import { photoHandler } from './photo-service';
import { intEnv, listen, untilStopped } from './serve';

async function main(): Promise<number> {
  const port = intEnv('PORT', 8080, 0, 65535);
  const host = process.env.HOST?.trim() || '127.0.0.1';
  const maxBytes = intEnv('PHOTO_SERVICE_MAX_BYTES', 25 * 1024 * 1024, 1, 5 * 1024 ** 3);
  const keepAliveMs = intEnv('PHOTO_SERVICE_KEEP_ALIVE_MS', 65_000, 1_000, 3_600_000);
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
  server.keepAliveTimeout = keepAliveMs;
  const boundPort = await listen(server, host, port, 'set PORT or HOST');
  log.info({ event: 'service.listening', host, port: boundPort, mode: store.mode }, `photo service listening on http://${host}:${boundPort} (${store.mode})`);

  await untilStopped([server], log, 'service.stopping');
  await store.close();
  log.info({ event: 'service.stopped', counts: store.counts() }, 'photo service stopped');
  return 0;
}

if (require.main === module) runCli('photo-service', main);
