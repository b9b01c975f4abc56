/**
 * npm run -s photo-service
 *
 * The reference photo service, wired the way an app is: everything from the environment (the store's variables in
 * migrator/src/store/config.ts, plus PORT, HOST, PHOTO_SERVICE_MAX_BYTES and PHOTO_SERVICE_KEEP_ALIVE_MS), JSON log
 * lines on stdout (the store's fallback hits and heartbeats among them: redirect stdout to a file and the audit can
 * count the hits and measure how much of its window the file covers). SIGTERM or SIGINT stops it gracefully: the
 * requests in flight are answered, then each connection is closed as soon as it is idle, and the store writes its last
 * heartbeat.
 *
 * Behind a load balancer, an idle connection must outlive the balancer's idle timeout, or the balancer may send a
 * request on a connection the service is just closing and answer it 502 ("configure the idle timeout of your
 * application to be larger than the idle timeout configured for the load balancer", AWS's Application Load Balancer
 * guide, "Connection idle timeout"; its default is 60 s): keep-alive is 65 s by default, not Node's 5 s.
 */
import * as http from 'http';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError } from '../../../workspaces/errors';
import { isEntry, parseStrict, runCli } from '../cli/run-cli';
import { createLogger } from '../log';
import { createStoreFromEnv, StoreError } from '../store';
import { STORE_VARIABLES } from '../store/config';
import { photoHandler } from './photo-service';
import { intEnv, listen, untilStopped } from './serve';

/** The service's own variables; the store's are STORE_VARIABLES. */
const SERVICE_VARIABLES: readonly (readonly [string, string])[] = [
  ['PORT', 'the port to listen on (default 8080; 0: any free port)'],
  ['HOST', 'the address to listen on (default 127.0.0.1; 0.0.0.0 in a container)'],
  ['PHOTO_SERVICE_MAX_BYTES', 'the largest photo accepted (default 26214400, 25 MiB)'],
  [
    'PHOTO_SERVICE_KEEP_ALIVE_MS',
    "how long an idle connection stays open (default 65000: longer than a load balancer's 60 s)",
  ],
];

/** No flags: everything comes from the environment. --help lists it; anything else is refused (exit 2). */
export function parseArgs(argv: string[]): void {
  const list = (vars: typeof SERVICE_VARIABLES) =>
    vars.map(([name, meaning]) => `  ${name}\n      ${meaning}`).join('\n');
  parseStrict(
    yargs(argv)
      .scriptName('npm run photo-service --')
      .usage(
        '$0\n\nThe reference photo service: PUT, GET, HEAD and DELETE /photos/<key> on the photo store, GET /healthz and /metrics. ' +
          'Configured by its environment only (no flags); JSON log lines on stdout; SIGTERM or SIGINT stops it after the requests in flight.',
      )
      .epilog(`The store's variables:\n${list(STORE_VARIABLES)}\n\nThe service's:\n${list(SERVICE_VARIABLES)}`),
    {
      0: 'stopped by SIGTERM or SIGINT (its normal stop) after the requests in flight',
      1: 'failed while serving',
      2: 'cannot start: configuration, buckets, endpoints or keys',
    },
  );
}

async function main(): Promise<number> {
  parseArgs(hideBin(process.argv));
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
    if (err instanceof StoreError)
      throw new ConfigError(`cannot start: ${err.message}; check the buckets, endpoints and keys`);
    throw err;
  }

  const server = http.createServer(photoHandler(store, { maxBytes, log }));
  server.keepAliveTimeout = keepAliveMs;
  const boundPort = await listen(server, host, port, 'set PORT or HOST');
  log.info(
    { event: 'service.listening', host, port: boundPort, mode: store.mode },
    `photo service listening on http://${host}:${boundPort} (${store.mode})`,
  );

  await untilStopped([server], log, 'service.stopping');
  await store.close();
  log.info({ event: 'service.stopped', counts: store.counts() }, 'photo service stopped');
  return 0;
}

if (isEntry(module)) runCli('photo-service', main);
