/**
 * A request's body, read whole (bounded), decoded and checked the way S3 checks it before it stores anything:
 *
 * - aws-chunked bodies are decoded (aws-chunked.ts, chunk signatures verified);
 * - a signed payload's SHA-256 (x-amz-content-sha256) must match: XAmzContentSHA256Mismatch;
 * - Content-MD5 (base64 of 16 bytes, else InvalidDigest) must match: BadDigest;
 * - x-amz-checksum-crc32 / -sha256 / -sha1 (in the headers or an aws-chunked trailer) must match: BadDigest
 *   ("Checking object integrity", Amazon S3 User Guide); x-amz-checksum-crc32c and -crc64nvme are refused as
 *   NotImplemented rather than stored unchecked (Node has no CRC32C or CRC64NVME).
 *
 * Nothing reaches the store until every check passed: a bad upload writes nothing.
 */
import { createHash } from 'crypto';
import type { IncomingMessage } from 'http';
import * as zlib from 'zlib';
import { readBounded } from '../service/serve';
import { decodeAwsChunked } from './aws-chunked';
import { invalidArgument, S3Error } from './errors';
import { sha256Hex, type Verified } from './sigv4-verify';

export const entityTooLarge = (max: number) =>
  new S3Error(
    'EntityTooLarge',
    400,
    `Your proposed upload exceeds the maximum allowed object size (${max} bytes through this gateway).`,
    { Connection: 'close' },
  );

/**
 * The raw body, up to `max` bytes (service/serve.ts readBounded): EntityTooLarge past it, IncompleteBody if cut short.
 */
export function readRaw(req: IncomingMessage, max: number): Promise<Buffer> {
  return readBounded(req, max, {
    tooLarge: () => entityTooLarge(max),
    cutShort: () =>
      new S3Error(
        'IncompleteBody',
        400,
        'You did not provide the number of bytes specified by the Content-Length HTTP header',
      ),
  });
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

/** The object's bytes from the raw body, with every check above done. */
export function checkedBody(req: IncomingMessage, raw: Buffer, auth: Verified): Buffer {
  let body = raw;
  let trailers: Record<string, string> = {};
  const streaming = auth.payload.kind === 'streaming-signed' || auth.payload.kind === 'streaming-unsigned-trailer';
  if (streaming) {
    const decodedText = header(req, 'x-amz-decoded-content-length');
    const decoded = decodedText === undefined ? undefined : Number(decodedText);
    if (decoded !== undefined && !Number.isSafeInteger(decoded))
      throw invalidArgument('x-amz-decoded-content-length must be a whole number');
    ({ body, trailers } = decodeAwsChunked(raw, auth, decoded));
  } else if (auth.payload.kind === 'sha256' && sha256Hex(raw) !== auth.payload.hex) {
    throw new S3Error(
      'XAmzContentSHA256Mismatch',
      400,
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  const md5 = header(req, 'content-md5');
  if (md5 !== undefined) {
    const given = Buffer.from(md5, 'base64');
    if (given.length !== 16 || given.toString('base64') !== md5.trim())
      throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.');
    if (!createHash('md5').update(body).digest().equals(given))
      throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
  }
  checkChecksums(body, (name) => trailers[name] ?? header(req, name));
  return body;
}

const CHECKSUMS: Record<string, ((b: Buffer) => Buffer) | undefined> = {
  crc32: (b) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(zlib.crc32(b) >>> 0);
    return out;
  },
  sha1: (b) => createHash('sha1').update(b).digest(),
  sha256: (b) => createHash('sha256').update(b).digest(),
  crc32c: undefined,
  crc64nvme: undefined,
};

/** Checks every x-amz-checksum-<algorithm> the request (headers or trailers) carries. */
export function checkChecksums(body: Buffer, get: (name: string) => string | undefined): void {
  for (const [algorithm, fn] of Object.entries(CHECKSUMS)) {
    const value = get(`x-amz-checksum-${algorithm}`);
    if (value === undefined) continue;
    if (!fn)
      throw new S3Error(
        'NotImplemented',
        501,
        `x-amz-checksum-${algorithm} is not supported by the bucketmove gateway; use CRC32, SHA1 or SHA256`,
      );
    if (fn(body).toString('base64') !== value.trim()) {
      throw new S3Error(
        'BadDigest',
        400,
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    }
  }
}
