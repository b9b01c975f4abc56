/**
 * AWS Signature Version 4 for S3, the pieces both ends of this project use: the gateway verifies app requests with
 * them (gateway/sigv4-verify.ts), and the light request path signs the migrator's per-object calls (`HeaderSigner`).
 *
 * Signing with the Authorization header ("Authenticating Requests: Using the Authorization Header", Amazon S3 API
 * Reference): the canonical request is METHOD \n canonical URI \n canonical query \n canonical headers \n signed
 * headers \n payload hash; the string to sign is the algorithm, the request time, the credential scope
 * (date/region/service/aws4_request) and the canonical request's SHA-256; the signature is its HMAC-SHA256 with the
 * signing key HMAC("AWS4"+secret, date) -> region -> service -> "aws4_request".
 *
 * `HeaderSigner` signs what @smithy/signature-v4 signs, byte for byte (test/aws/sigv4.test.ts compares the two on
 * the same requests), at a fraction of its CPU: the signing key is derived once per day and credentials (the SDK's
 * signer hashes the secret on every request to look its key up), and nothing else is computed. Profiles of the
 * migrator showed the SDK signer at about 6% of its CPU per object.
 *
 * The secret never leaves the HMACs here: not logged, not put in an error, not kept except inside the cached key's
 * derivation inputs, compared by identity with the credentials that the SDK's provider returns.
 */
import { extendedEncodeURIComponent } from '@smithy/core/protocols';
import { createHash, createHmac } from 'crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

export function signingKey(secret: string, date: string, region: string, service = 's3'): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

export const hmacHex = (key: Buffer, text: string) => createHmac('sha256', key).update(text, 'utf8').digest('hex');
export const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** "YYYYMMDDTHHMMSSZ", the form of x-amz-date. */
export const toAmzDate = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/**
 * Headers a signer leaves unsigned because proxies and HTTP stacks may add, drop or rewrite them: the SDK's
 * ALWAYS_UNSIGNABLE_HEADERS (@smithy/signature-v4), so a request signed here is signed as the SDK signs it.
 */
const UNSIGNED = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A signed request's signature with what it was made from: the seed of a signed-chunk body (signed-chunks.ts). */
export interface RequestSignature {
  readonly signature: string;
  /** x-amz-date. */
  readonly amzDate: string;
  /** date/region/service/aws4_request. */
  readonly scope: string;
  /** The day's signing key (never logged or put in an error). */
  readonly key: Buffer;
}

/** SigV4's canonical query string: each name and value URI-encoded, sorted by encoded name, joined by "&". */
function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .map((name) => [extendedEncodeURIComponent(name), extendedEncodeURIComponent(query[name])])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Signs header-authenticated requests for one region and service. */
export class HeaderSigner {
  private key?: { readonly creds: SigningCredentials; readonly date: string; readonly value: Buffer };

  constructor(
    private readonly region: string,
    private readonly service = 's3',
  ) {}

  /**
   * Adds x-amz-date, x-amz-security-token (temporary credentials) and Authorization to `headers`, whose names are
   * lower-case and which hold `host` and `x-amz-content-sha256` already. `path` is the URI as sent (each key segment
   * encoded once: S3 signs it as it is); `query`, the query string's parameters as sent (the request handler encodes
   * each name and value as extendedEncodeURIComponent does, which the canonical query string does too). Returns what
   * a signed-chunk body chains its chunks' signatures to (signed-chunks.ts).
   */
  sign(
    method: string,
    path: string,
    headers: Record<string, string>,
    creds: SigningCredentials,
    at: Date,
    query?: Readonly<Record<string, string>>,
  ): RequestSignature {
    const amzDate = toAmzDate(at);
    const date = amzDate.slice(0, 8);
    headers['x-amz-date'] = amzDate;
    if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
    const names = Object.keys(headers)
      .filter((n) => !UNSIGNED.has(n))
      .sort();
    let canonicalHeaders = '';
    for (const n of names) canonicalHeaders += `${n}:${headers[n].trim().replace(/\s+/g, ' ')}\n`;
    const signedHeaders = names.join(';');
    const canonicalRequest = `${method}\n${path}\n${query ? canonicalQuery(query) : ''}\n${canonicalHeaders}\n${signedHeaders}\n${headers['x-amz-content-sha256']}`;
    const scope = `${date}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const key = this.signingKey(creds, date);
    const signature = hmacHex(key, stringToSign);
    headers.authorization = `${ALGORITHM} Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return { signature, amzDate, scope, key };
  }

  /** The day's key for these credentials: derived again only when the day or the credentials change (a refresh). */
  private signingKey(creds: SigningCredentials, date: string): Buffer {
    const k = this.key;
    if (
      k &&
      k.date === date &&
      (k.creds === creds ||
        (k.creds.accessKeyId === creds.accessKeyId && k.creds.secretAccessKey === creds.secretAccessKey))
    ) {
      return k.value;
    }
    const value = signingKey(creds.secretAccessKey, date, this.region, this.service);
    this.key = { creds, date, value };
    return value;
  }
}
