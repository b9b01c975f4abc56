/**
 * Sorts a failure into what the run does with it:
 * - temporary: retried with backoff (5xx, timeouts, resets, 409 conflicts, expired sessions); `throttle` also
 *   slows the whole run down (503 SlowDown, 429, Throttling*).
 * - permanent: the object goes to quarantine and the run goes on (the codec refused the bytes, 403, bad requests).
 */
import { httpStatusOf, NETWORK_ERROR_CODES } from '../aws/errors';
import { CodecError } from '../codec/codec';
import type { Outcome } from '../objects/records';

/** A failure that is the object's own and will not go away on retry (besides the codec's). */
export class PermanentCopyError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

export interface Classified {
  readonly kind: 'temporary' | 'permanent';
  readonly throttle: boolean;
  /** A short code for the report's ErrorCode column: the S3 error code, the codec's kind, or the network error. */
  readonly code: string;
  readonly httpStatus?: number;
  /** One line, no key material, no credentials. */
  readonly message: string;
}

const THROTTLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'ProvisionedThroughputExceededException',
]);
const TEMPORARY_CODES = new Set([
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'InternalError',
  'ServiceUnavailable',
  'OperationAborted',
  'ConditionalRequestConflict',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'IDPCommunicationError',
  'AbortError',
  'BadDigest',
  'IncompleteBody',
  'XAmzContentSHA256Mismatch',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $retryable?: unknown;
  $response?: { statusCode?: number };
}

export function classify(err: unknown): Classified {
  if (err instanceof CodecError) {
    return { kind: 'permanent', throttle: false, code: `Codec.${err.kind}`, message: err.message };
  }
  if (err instanceof PermanentCopyError) {
    return { kind: 'permanent', throttle: false, code: err.code, message: oneLine(err.message) };
  }
  const e = (err ?? {}) as SdkLikeError;
  const status = httpStatusOf(err) ?? e.$response?.statusCode;
  const code =
    e.Code ?? (e.name && e.name !== 'Error' && e.name !== 'Unknown' ? e.name : undefined) ?? e.code ?? 'Error';
  const message = oneLine(e.message ?? String(err));
  const netCode = e.code && NETWORK_ERROR_CODES.has(e.code) ? e.code : undefined;
  if (THROTTLE_CODES.has(code) || status === 503 || status === 429) {
    return {
      kind: 'temporary',
      throttle: true,
      code: status === 503 && !THROTTLE_CODES.has(code) ? 'SlowDown' : code,
      httpStatus: status,
      message,
    };
  }
  if (netCode || NETWORK_ERROR_CODES.has(code)) {
    return { kind: 'temporary', throttle: false, code: netCode ?? code, httpStatus: status, message };
  }
  if (TEMPORARY_CODES.has(code) || (status !== undefined && (status >= 500 || status === 409 || status === 408))) {
    return { kind: 'temporary', throttle: false, code, httpStatus: status, message };
  }
  if (status === 400 && /expired/i.test(message)) {
    return { kind: 'temporary', throttle: false, code, httpStatus: status, message };
  }
  // No HTTP answer at all and not the codec's verdict: not the object's fault, so never quarantine for it.
  if (status === undefined) return { kind: 'temporary', throttle: false, code, message };
  return { kind: 'permanent', throttle: false, code, httpStatus: status, message };
}

function oneLine(s: string): string {
  const line = s.split('\n')[0].trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/** What a failure records: quarantined when permanent (a person must look), failed when temporary (tried again). */
export function failureOutcome(why: Classified): Outcome {
  return {
    state: why.kind === 'permanent' ? 'quarantined' : 'failed',
    errorCode: why.code,
    errorMessage: why.message,
    httpStatus: why.httpStatus ?? null,
  };
}
