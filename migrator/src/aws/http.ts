/**
 * The transport every SDK client of the data half shares the settings of: a keep-alive agent sized for the run's
 * concurrency, connection and idle timeouts, and the SDK's own retry strategy (standard or adaptive) with a
 * configurable number of attempts. Retries of throttling (503 SlowDown), 5xx, timeouts and resets are the SDK's; the
 * adaptive mode also rate-limits the whole client while the server pushes back.
 */
import * as http from 'http';
import * as https from 'https';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AdaptiveRetryStrategy, StandardRetryStrategy } from '@smithy/util-retry';

export interface Transport {
  /** Attempts per request, the first included (SDK default: 3). */
  readonly maxAttempts: number;
  /** 'adaptive' adds client-side rate limiting on throttling errors to 'standard' (exponential backoff with jitter). */
  readonly retryMode: 'standard' | 'adaptive';
  /** Time allowed to open a TCP connection. */
  readonly connectionTimeoutMs: number;
  /** A socket idle for this long fails the request (a stalled transfer), and the SDK retries it. 0: never. */
  readonly idleTimeoutMs: number;
  /** A whole request taking longer fails with a TimeoutError. 0: no bound (large objects take as long as they take). */
  readonly requestTimeoutMs: number;
  /** Sockets per host in the keep-alive pool; size it to the run's concurrency (plus multipart parts in flight). */
  readonly maxSockets: number;
}

export const DEFAULT_TRANSPORT: Transport = {
  maxAttempts: 6,
  retryMode: 'adaptive',
  connectionTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  requestTimeoutMs: 0,
  maxSockets: 64,
};

/** Completes partial settings with the defaults, and refuses nonsense with a one-line RangeError. */
export function transport(overrides: Partial<Transport> = {}): Transport {
  const t = {
    ...DEFAULT_TRANSPORT,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  if (!Number.isInteger(t.maxAttempts) || t.maxAttempts < 1)
    throw new RangeError(`maxAttempts must be an integer >= 1 (got ${t.maxAttempts})`);
  if (!Number.isInteger(t.maxSockets) || t.maxSockets < 1)
    throw new RangeError(`maxSockets must be an integer >= 1 (got ${t.maxSockets})`);
  for (const k of ['connectionTimeoutMs', 'idleTimeoutMs', 'requestTimeoutMs'] as const) {
    if (!Number.isFinite(t[k]) || t[k] < 0) throw new RangeError(`${k} must be a number >= 0 (got ${t[k]})`);
  }
  if (t.retryMode !== 'standard' && t.retryMode !== 'adaptive')
    throw new RangeError(`retryMode must be "standard" or "adaptive"`);
  return t;
}

/** A NodeHttpHandler with its own keep-alive agents (one per client: `client.destroy()` closes its sockets). */
export function createRequestHandler(t: Transport): NodeHttpHandler {
  const agentOptions = { keepAlive: true, maxSockets: t.maxSockets, maxFreeSockets: t.maxSockets };
  return new NodeHttpHandler({
    httpAgent: new http.Agent(agentOptions),
    httpsAgent: new https.Agent(agentOptions),
    connectionTimeout: t.connectionTimeoutMs,
    socketTimeout: t.idleTimeoutMs,
    ...(t.requestTimeoutMs ? { requestTimeout: t.requestTimeoutMs, throwOnRequestTimeout: true } : {}),
  });
}

export function createRetryStrategy(t: Transport): NonNullable<S3ClientConfig['retryStrategy']> {
  return t.retryMode === 'adaptive'
    ? new AdaptiveRetryStrategy(async () => t.maxAttempts)
    : new StandardRetryStrategy(t.maxAttempts);
}
