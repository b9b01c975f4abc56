/**
 * Reading SDK errors. Ceph RGW answers IAM and STS calls with S3-style XML errors, which the IAM and STS clients cannot
 * parse: they surface as name "Unknown". So the HTTP status ($metadata.httpStatusCode) is what to match on. An error
 * body without a message (RGW's AccessDenied on a PUT, for one) leaves the SDK's message "UnknownError": the one line
 * about an error never shows that, but names what was called (nameOperations) and what came back.
 */

/** The codes (`err.code`) of a connection that failed or broke before or without an HTTP answer (Node, undici). */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** The HTTP status of an SDK service error, or undefined for errors that never got an HTTP answer. */
export function httpStatusOf(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

/** The S3 error code (AccessDenied, NoSuchKey, PreconditionFailed, ...) where the SDK could parse one. */
export function errorCodeOf(err: unknown): string | undefined {
  const e = err as { Code?: unknown; name?: unknown } | null;
  if (typeof e?.Code === 'string') return e.Code;
  return typeof e?.name === 'string' && e.name !== 'Unknown' && e.name !== 'Error' ? e.name : undefined;
}

/** A 404 about the key (NoSuchKey, or a HEAD's bodiless NotFound), as opposed to a missing bucket. */
export function isNoSuchKey(err: unknown): boolean {
  const code = errorCodeOf(err);
  if (code === 'NoSuchBucket') return false;
  return code === 'NoSuchKey' || code === 'NotFound' || httpStatusOf(err) === 404;
}

/** Whether `err` came from a service call (an HTTP answer, or a request that got none): it carries `$metadata`. */
export function isServiceError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && '$metadata' in err;
}

/** The operation an SDK error came from ("PutObject"), where the client names its operations (nameOperations). */
export function operationOf(err: unknown): string | undefined {
  const op = (err as { $operation?: unknown } | null)?.$operation;
  return typeof op === 'string' ? op : undefined;
}

/** The messages the SDK makes up when the answer held none: not worth showing. */
const EMPTY_MESSAGES = new Set(['', 'UnknownError', 'Unknown', 'undefined']);

/**
 * One line about an SDK error for logs and CLI messages: the operation (when known), code, status and message, never a
 * stack or a key. An answer without a message says so ("PutObject: AccessDenied, HTTP 403, no message").
 */
export function describeAwsError(err: unknown): string {
  const status = httpStatusOf(err);
  const code = errorCodeOf(err);
  const first = err instanceof Error ? err.message.split('\n')[0].trim() : String(err);
  const message = EMPTY_MESSAGES.has(first) || first === code ? '' : first;
  const parts = [code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ');
  const op = operationOf(err);
  const body =
    parts && message
      ? `${parts}: ${message}`
      : parts
        ? `${parts}${op ? ', no message' : ''}`
        : message || `${(err as Error)?.name || 'an error'} without a code, status or message`;
  return op ? `${op}: ${body}` : body;
}

type Middleware = (
  next: (args: unknown) => Promise<unknown>,
  context: { commandName?: string },
) => (args: unknown) => Promise<unknown>;
type AddMiddleware = (middleware: Middleware, options: { step: 'initialize'; name: string; override: boolean }) => void;

/**
 * Makes every error a client's calls throw carry the operation's name (`$operation`: "PutObject" for the
 * PutObjectCommand, from the handler context's commandName), so that describeAwsError can say what was called.
 * Any AWS SDK v3 client (each types its stack by its own inputs, hence the loose bound). Returns the client.
 */
export function nameOperations<C extends { middlewareStack: { add: (...args: never[]) => void } }>(client: C): C {
  const add = client.middlewareStack.add as unknown as AddMiddleware;
  add.call(
    client.middlewareStack,
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (typeof err === 'object' && err !== null && !('$operation' in err) && context.commandName) {
          Object.defineProperty(err, '$operation', {
            value: context.commandName.replace(/Command$/, ''),
            enumerable: false,
            configurable: true,
          });
        }
        throw err;
      }
    },
    { step: 'initialize', name: 'bucketmoveOperationName', override: true },
  );
  return client;
}

/**
 * The last error of the SDK's default credential chain when no provider had any credentials
 * (@smithy/property-provider).
 */
const NO_PROVIDER = /could not load credentials from any providers/i;

/**
 * What is wrong with the caller's AWS credentials, when `err` is the SDK's failure to load any
 * (CredentialsProviderError): none at all, or the provider's own reason (an expired SSO session); undefined for any
 * other error.
 */
export function credentialsProblem(err: unknown): string | undefined {
  if ((err as { name?: unknown } | null)?.name !== 'CredentialsProviderError') return undefined;
  const message = err instanceof Error ? err.message.split('\n')[0].trim() : '';
  if (!message || NO_PROVIDER.test(message)) {
    return 'no AWS credentials at all: the SDK found none in the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE), ~/.aws, an SSO login, or a container or instance role; log in (e.g. aws sso login --profile <p> and export AWS_PROFILE=<p>) and run it again';
  }
  return `the AWS credentials could not be loaded: ${message}`;
}
