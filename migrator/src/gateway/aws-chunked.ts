/**
 * Decodes an `aws-chunked` request body (Content-Encoding: aws-chunked) into the object's bytes, verifying each chunk's
 * signature where the payload is signed ("Signature Calculations for the Authorization Header: Transferring Payload in
 * Multiple Chunks", Amazon S3 API Reference, sigv4-streaming.html; trailers: sigv4-streaming-trailers.html):
 *
 *   signed:   <hex size>;chunk-signature=<sig>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n[<trailers>]\r\n
 *   unsigned: <hex size>\r\n<data>\r\n ... 0\r\n<trailer lines>\r\n   (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
 *
 * A chunk's string to sign is "AWS4-HMAC-SHA256-PAYLOAD" \n time \n scope \n previous signature \n SHA-256("") \n
 * SHA-256(chunk data), the first chunk's previous signature being the request's (the seed). With a signed trailer,
 * "AWS4-HMAC-SHA256-TRAILER" \n time \n scope \n previous signature \n SHA-256(trailer lines, each "name:value\n"),
 * sent as x-amz-trailer-signature. The decoded length must equal x-amz-decoded-content-length.
 *
 * The body is read whole first (body.ts bounds it), so decoding is one pass over a Buffer.
 */
import { S3Error } from './errors';
import { EMPTY_SHA256, hmacHex, sameSignature, sha256Hex, type Verified } from './sigv4-verify';

export interface Decoded {
  readonly body: Buffer;
  /** Trailing headers (lower-case names), e.g. x-amz-checksum-crc32. */
  readonly trailers: Record<string, string>;
}

const incomplete = () => new S3Error('IncompleteBody', 400, 'The request body is not a well-formed aws-chunked body');
const badChunkSig = () =>
  new S3Error(
    'SignatureDoesNotMatch',
    403,
    'The request signature we calculated does not match the signature you provided (chunk signature).',
  );

export function decodeAwsChunked(raw: Buffer, auth: Verified, decodedLength: number | undefined): Decoded {
  const signed = auth.payload.kind === 'streaming-signed';
  const parts: Buffer[] = [];
  let at = 0;
  let prev = auth.seedSignature;
  const line = (): string => {
    const end = raw.indexOf('\r\n', at);
    if (end < 0) throw incomplete();
    const text = raw.subarray(at, end).toString('latin1');
    at = end + 2;
    return text;
  };
  for (;;) {
    const header = line();
    const m = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(header);
    if (!m) throw incomplete();
    const size = parseInt(m[1], 16);
    if (signed && !m[2])
      throw new S3Error('SignatureDoesNotMatch', 403, 'a chunk of a signed aws-chunked body has no chunk-signature');
    if (at + size > raw.length) throw incomplete();
    const data = raw.subarray(at, at + size);
    at += size;
    if (signed) {
      const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', auth.amzDate, auth.scope, prev, EMPTY_SHA256, sha256Hex(data)].join(
        '\n',
      );
      const expected = hmacHex(auth.signingKey, toSign);
      if (!sameSignature(expected, m[2])) throw badChunkSig();
      prev = expected;
    }
    if (size === 0) break;
    parts.push(data);
    if (raw.subarray(at, at + 2).toString('latin1') !== '\r\n') throw incomplete();
    at += 2;
  }
  const trailers: Record<string, string> = {};
  const trailerLines: string[] = [];
  let trailerSig: string | undefined;
  while (at < raw.length) {
    const text = line();
    if (text === '') break;
    const i = text.indexOf(':');
    if (i <= 0) throw incomplete();
    const name = text.slice(0, i).trim().toLowerCase();
    const value = text.slice(i + 1).trim();
    if (name === 'x-amz-trailer-signature') trailerSig = value;
    else {
      trailers[name] = value;
      trailerLines.push(`${name}:${value}\n`);
    }
  }
  if (signed && auth.payload.kind === 'streaming-signed' && auth.payload.trailer) {
    if (!trailerSig)
      throw new S3Error('SignatureDoesNotMatch', 403, 'the signed trailer has no x-amz-trailer-signature');
    const toSign = ['AWS4-HMAC-SHA256-TRAILER', auth.amzDate, auth.scope, prev, sha256Hex(trailerLines.join(''))].join(
      '\n',
    );
    if (!sameSignature(hmacHex(auth.signingKey, toSign), trailerSig)) throw badChunkSig();
  }
  const body = Buffer.concat(parts);
  if (decodedLength !== undefined && decodedLength !== body.length) {
    throw new S3Error(
      'IncompleteBody',
      400,
      `You did not provide the number of bytes specified by the x-amz-decoded-content-length header (${decodedLength}; the chunks hold ${body.length})`,
    );
  }
  return { body, trailers };
}
