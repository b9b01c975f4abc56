/**
 * Verifies an S3 request's AWS Signature Version 4, in both of S3's forms, against the app's credentials:
 *
 * - the Authorization header ("Authenticating Requests: Using the Authorization Header", Amazon S3 API Reference,
 *   sigv4-auth-using-authorization-header.html and sig-v4-header-based-auth.html): the canonical request is
 *   METHOD \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload hash, where the
 *   payload hash is the x-amz-content-sha256 header (S3 requires it): a hex SHA-256 (a signed payload, checked against
 *   the body by body.ts: XAmzContentSHA256Mismatch), UNSIGNED-PAYLOAD, or one of the STREAMING-* values of an
 *   aws-chunked body (aws-chunked.ts verifies each chunk's signature from the seed signature returned here);
 * - a presigned URL ("Authenticating Requests: Using Query Parameters", sigv4-query-string-auth.html): the X-Amz-*
 *   query parameters, the payload UNSIGNED-PAYLOAD, X-Amz-Expires from 1 to 604800 seconds (7 days), an expired URL
 *   answered AccessDenied "Request has expired".
 *
 * The canonical URI is each path segment URI-encoded once (S3 does not double-encode nor normalize the path); query
 * names and values are URI-encoded (RFC 3986 unreserved characters kept) and sorted; header values are trimmed with
 * inner runs of spaces collapsed. The signing key is HMAC("AWS4"+secret, date) -> region -> "s3" -> "aws4_request".
 * A header-signed request more than 15 minutes from the server's clock is RequestTimeTooSkewed (S3's limit, "Error
 * responses", RequestTimeTooSkewed: "The difference between the request time and the server's time is too large").
 *
 * The secret never leaves this module's HMACs: it is not logged, not put in an error, not compared as text.
 */
import { timingSafeEqual } from 'crypto';
import { ALGORITHM, hmacHex, sha256Hex, signingKey, toAmzDate } from '../aws/sigv4';
import { accessDenied, S3Error } from './errors';

export { ALGORITHM, EMPTY_SHA256, hmacHex, sha256Hex, signingKey } from '../aws/sigv4';

export interface AppCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** What the request is, as the verifier needs it: the raw URL (path and query as sent) and the headers. */
export interface SignedRequest {
  readonly method: string;
  /** The request target as received: "/bucket/key?query". */
  readonly url: string;
  /** Header values by lower-case name; repeated headers as arrays (Node's headersDistinct). */
  readonly headers: Record<string, string | string[] | undefined>;
}

export type PayloadMode =
  | { readonly kind: 'sha256'; readonly hex: string }
  | { readonly kind: 'unsigned' }
  /** aws-chunked, each chunk signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]). */
  | { readonly kind: 'streaming-signed'; readonly trailer: boolean }
  /** aws-chunked, chunks unsigned, checksum in a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER). */
  | { readonly kind: 'streaming-unsigned-trailer' };

export interface Verified {
  readonly accessKeyId: string;
  readonly payload: PayloadMode;
  /** For chunk signatures: the request's signing key, time, scope and signature (the seed). */
  readonly signingKey: Buffer;
  readonly amzDate: string;
  readonly scope: string;
  readonly seedSignature: string;
  readonly presigned: boolean;
}

export interface VerifyOptions {
  readonly credentials: readonly AppCredentials[];
  /** The region the app signs for (the bucket's). */
  readonly region: string;
  readonly now?: Date;
}

export const MAX_SKEW_MS = 15 * 60 * 1000;
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

const sigMismatch = () =>
  new S3Error(
    'SignatureDoesNotMatch',
    403,
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );
const malformedAuth = (why: string) =>
  new S3Error('AuthorizationHeaderMalformed', 400, `The authorization header is malformed; ${why}`);
const queryError = (why: string) => new S3Error('AuthorizationQueryParametersError', 400, why);

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ as %XX (upper case). */
export function uriEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
  }
}

/** The query's name/value pairs, decoded, in the order sent. */
export function queryPairs(rawQuery: string): [string, string][] {
  if (!rawQuery) return [];
  return rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [decode(p), ''] : [decode(p.slice(0, i)), decode(p.slice(i + 1))];
    });
}

export function splitUrl(url: string): { path: string; query: string } {
  const i = url.indexOf('?');
  return i < 0 ? { path: url, query: '' } : { path: url.slice(0, i), query: url.slice(i + 1) };
}

export function canonicalUri(rawPath: string): string {
  return rawPath
    .split('/')
    .map((seg) => uriEncode(decode(seg)))
    .join('/');
}

export function canonicalQuery(pairs: readonly [string, string][]): string {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(h: SignedRequest['headers'], name: string): string | undefined {
  const v = h[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map((x) => x.trim().replace(/ +/g, ' ')).join(',');
}

/** Compares two hex signatures in constant time. */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Parses "YYYYMMDDTHHMMSSZ". */
export function parseAmzDate(s: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function payloadMode(value: string | undefined): PayloadMode {
  if (value === undefined)
    throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: x-amz-content-sha256');
  if (/^[0-9a-f]{64}$/.test(value)) return { kind: 'sha256', hex: value };
  switch (value) {
    case 'UNSIGNED-PAYLOAD':
      return { kind: 'unsigned' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { kind: 'streaming-signed', trailer: false };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { kind: 'streaming-signed', trailer: true };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'streaming-unsigned-trailer' };
    default:
      throw new S3Error(
        'InvalidArgument',
        400,
        `x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], or a SHA-256 in hex`,
      );
  }
}

interface Parsed {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseCredential(cred: string, bad: (why: string) => S3Error): Omit<Parsed, 'signedHeaders' | 'signature'> {
  const parts = cred.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request')
    throw bad('the Credential must be <access key>/<date>/<region>/s3/aws4_request');
  const [accessKeyId, date, region, service] = parts;
  if (!/^\d{8}$/.test(date)) throw bad('the Credential date must be YYYYMMDD');
  return { accessKeyId, date, region, service };
}

function parseAuthorization(header: string): Parsed {
  if (!header.startsWith(`${ALGORITHM} `)) {
    if (header.startsWith('AWS '))
      throw new S3Error(
        'InvalidRequest',
        400,
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
      );
    throw malformedAuth(`the algorithm must be ${ALGORITHM}`);
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const cred = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!cred || !signed || !signature) throw malformedAuth('it needs Credential, SignedHeaders and Signature');
  return { ...parseCredential(cred, malformedAuth), signedHeaders: signed.split(';'), signature };
}

/**
 * Verifies the request (throws S3Error: AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch,
 * RequestTimeTooSkewed, AuthorizationHeaderMalformed, AuthorizationQueryParametersError...).
 */
export function verifyRequest(req: SignedRequest, o: VerifyOptions): Verified {
  const now = o.now ?? new Date();
  const { path, query } = splitUrl(req.url);
  const pairs = queryPairs(query);
  const q = new Map(pairs);
  const auth = headerValue(req.headers, 'authorization');
  const presigned = q.has('X-Amz-Signature') || q.has('X-Amz-Credential');
  if (auth && presigned)
    throw new S3Error(
      'InvalidArgument',
      400,
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified',
    );

  let p: Parsed;
  let amzDate: string;
  let payload: PayloadMode;
  if (presigned) {
    if (q.get('X-Amz-Algorithm') !== ALGORITHM) throw queryError(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
    for (const name of ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
      if (!q.get(name))
        throw queryError(
          `Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters (${name} is missing).`,
        );
    }
    p = {
      ...parseCredential(q.get('X-Amz-Credential')!, queryError),
      signedHeaders: q.get('X-Amz-SignedHeaders')!.split(';'),
      signature: q.get('X-Amz-Signature')!,
    };
    amzDate = q.get('X-Amz-Date')!;
    const signedAt = parseAmzDate(amzDate);
    if (!signedAt) throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    const expiresText = q.get('X-Amz-Expires')!;
    const expires = /^\d{1,9}$/.test(expiresText) ? Number(expiresText) : NaN;
    if (!Number.isInteger(expires) || expires < 1)
      throw queryError('X-Amz-Expires should be a number of seconds from 1');
    if (expires > MAX_PRESIGN_SECONDS)
      throw queryError(`X-Amz-Expires must be less than a week (in seconds) that is; ${MAX_PRESIGN_SECONDS}`);
    if (signedAt.getTime() - now.getTime() > MAX_SKEW_MS) throw accessDenied('Request is not valid yet');
    if (now.getTime() > signedAt.getTime() + expires * 1000) throw accessDenied('Request has expired');
    payload = { kind: 'unsigned' };
    const hash = q.get('X-Amz-Content-Sha256') ?? headerValue(req.headers, 'x-amz-content-sha256');
    if (hash !== undefined && hash !== 'UNSIGNED-PAYLOAD') payload = payloadMode(hash);
  } else {
    if (!auth) throw accessDenied('Access Denied: the request is not signed (use AWS Signature Version 4)');
    p = parseAuthorization(auth);
    const amz = headerValue(req.headers, 'x-amz-date');
    const dateHeader = headerValue(req.headers, 'date');
    let signedAt = parseAmzDate(amz);
    if (amz !== undefined && !signedAt)
      throw new S3Error('AccessDenied', 403, 'AWS authentication requires a valid Date or x-amz-date header');
    if (!signedAt && dateHeader) {
      const d = new Date(dateHeader);
      if (!Number.isNaN(d.getTime())) signedAt = d;
    }
    if (!signedAt)
      throw new S3Error('AccessDenied', 403, 'AWS authentication requires a valid Date or x-amz-date header');
    amzDate = amz ?? toAmzDate(signedAt);
    if (Math.abs(signedAt.getTime() - now.getTime()) > MAX_SKEW_MS) {
      throw new S3Error(
        'RequestTimeTooSkewed',
        403,
        "The difference between the request time and the server's time is too large.",
      );
    }
    payload = payloadMode(headerValue(req.headers, 'x-amz-content-sha256'));
  }

  const creds = o.credentials.find((c) => c.accessKeyId === p.accessKeyId);
  if (!creds)
    throw new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.');
  if (p.service !== 's3')
    throw (presigned ? queryError : malformedAuth)(`the Credential's service must be s3 (got "${p.service}")`);
  if (p.region !== o.region)
    throw (presigned ? queryError : malformedAuth)(`the region '${p.region}' is wrong; expecting '${o.region}'`);
  if (p.date !== amzDate.slice(0, 8))
    throw (presigned ? queryError : malformedAuth)(
      `the Credential date ${p.date} is not the request date ${amzDate.slice(0, 8)}`,
    );
  if (!p.signedHeaders.includes('host'))
    throw (presigned ? queryError : malformedAuth)('the host header must be signed');

  const canonicalHeaders = p.signedHeaders.map((name) => `${name}:${headerValue(req.headers, name) ?? ''}\n`).join('');
  const signedPairs = presigned ? pairs.filter(([k]) => k !== 'X-Amz-Signature') : pairs;
  const hashForCanonical = presigned
    ? (q.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD')
    : headerValue(req.headers, 'x-amz-content-sha256')!;
  const canonical = [
    req.method,
    canonicalUri(path),
    canonicalQuery(signedPairs),
    canonicalHeaders,
    p.signedHeaders.join(';'),
    hashForCanonical,
  ].join('\n');
  const scope = `${p.date}/${p.region}/s3/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = signingKey(creds.secretAccessKey, p.date, p.region);
  const expected = hmacHex(key, stringToSign);
  if (!sameSignature(expected, p.signature.toLowerCase())) throw sigMismatch();
  return {
    accessKeyId: creds.accessKeyId,
    payload,
    signingKey: key,
    amzDate,
    scope,
    seedSignature: expected,
    presigned,
  };
}
