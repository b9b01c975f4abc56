/**
 * Stand-ins for tests of the copy path: a codec that passes bytes through, a codec wrapper that lets the test act at an
 * exact point of a copy, and S3 clients for aws-sdk-client-mock.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { PassThrough, pipeline, Readable } from 'stream';
import type { Codec } from '../../migrator/src/codec/codec';
import {
  largeObjectWrite,
  PROBE_PREFIX,
  type LargeObjectWrite,
} from '../../migrator/src/migrate/conditional-write-probe';
import type { CopyDeps } from '../../migrator/src/migrate/copy-object';
import { MIB } from '../../workspaces/units';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Large objects as on AWS, which enforces If-None-Match on CompleteMultipartUpload: multipart (mocked tests). */
export const AWS_LARGE_OBJECTS = largeObjectWrite({
  key: `${PROBE_PREFIX}mocked`,
  put: 'enforced',
  completeMultipartUpload: 'enforced',
  cleanedUp: true,
});

/** Large objects as on AWS, which also verifies a FULL_OBJECT CRC32 given at completion: one pass (mocked tests). */
export const AWS_ONE_PASS_LARGE_OBJECTS = largeObjectWrite({
  key: `${PROBE_PREFIX}mocked`,
  put: 'enforced',
  completeMultipartUpload: 'enforced',
  fullObjectChecksum: 'verified',
  cleanedUp: true,
});

/** Large objects as on RGW 16, which ignores it there: one streamed conditional PutObject each (mocked tests). */
export const RGW_LARGE_OBJECTS = largeObjectWrite({
  key: `${PROBE_PREFIX}mocked`,
  put: 'enforced',
  completeMultipartUpload: 'ignored',
  cleanedUp: true,
});

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

/** A codec that runs `before(key)` when it starts on a key: to make the app act at an exact point of a copy. */
export function hookedCodec(inner: Codec, before: (key: string) => Promise<void>): Codec {
  return {
    name: inner.name,
    plaintextSize: (n) => inner.plaintextSize(n),
    memoryNeed: (n) => inner.memoryNeed(n),
    encrypt: (p, c) => inner.encrypt(p, c),
    decrypt(stored, ctx) {
      return Readable.from(
        (async function* () {
          await before(ctx.key);
          yield* inner.decrypt(stored, ctx);
        })(),
        { objectMode: false },
      );
    },
  };
}

/**
 * copyObject's dependencies over two (mocked) clients: the legacy bucket "old", the new bucket "new" with SSE-S3, 5 MiB
 * parts with 2 in flight, the pass-through codec, and large objects written as `largeObjects` says.
 */
export function mockedCopyDeps(
  source: S3Client,
  target: S3Client,
  largeObjects: LargeObjectWrite,
  queueSize = 2,
): CopyDeps {
  return {
    source: { client: source, bucket: 'old' },
    target: {
      client: target,
      bucket: 'new',
      sse: { ServerSideEncryption: 'AES256' },
      partSize: 5 * MIB,
      queueSize,
    },
    codec: identityCodec,
    largeObjects,
  };
}
