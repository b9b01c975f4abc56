/** A node:http server standing in for S3 in a test: on an ephemeral port of 127.0.0.1, closed with its sockets. */
import type * as http from 'http';
import type { AddressInfo } from 'net';

/** Listens and returns the server's endpoint (http://127.0.0.1:PORT). */
export async function listenLocal(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes the server; a test that timed out may leave a client mid-retry, whose sockets must not hold it open. */
export function closeLocal(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
