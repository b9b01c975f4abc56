/** Stand-ins for unit tests of the copy path: a codec that passes bytes through, and S3 clients for aws-sdk-client-mock. */
import { S3Client } from '@aws-sdk/client-s3';
import { PassThrough, pipeline } from 'stream';
import type { Codec } from '../../migrator/src/codec/codec';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Plaintext = stored bytes; like the real codecs, its output fails when the stored stream does. */
export const identityCodec: Codec = {
  name: 'identity',
  decrypt: (s) => pipeline(s, new PassThrough(), () => undefined),
  plaintextSize: (n) => n,
  memoryNeed: () => 64 * 1024,
  encrypt: (b) => b,
};

/** An S3 client with fixed fake credentials, to be answered by aws-sdk-client-mock (never the network). */
export function offlineS3Client(): S3Client {
  return new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
}
