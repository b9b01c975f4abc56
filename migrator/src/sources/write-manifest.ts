/**
 * `npm run manifest`: writes a Batch Operations CSV manifest (S3BatchOperations_CSV_20180820, fields Bucket,Key) of a
 * key source, streamed page by page to a local file (written whole or not at all: a temporary sibling renamed when
 * complete) or to S3 (lib-storage Upload: parts streamed as they fill, the upload aborted on failure, so no partial
 * manifest object is left). The keys come from a listing of current objects, so there is no VersionId column; keys are
 * URL-encoded (manifest-key.ts), which also keeps commas, quotes and newlines in keys out of the CSV syntax. No gzip:
 * Batch Operations reads CSV manifests uncompressed.
 */
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PassThrough } from 'stream';
import { once } from 'events';
import { AtomicLineWriter } from '../report/files';
import { bareEtag } from '../objects/provenance';
import type { KeySource } from './key-source';
import { encodeManifestKey } from './manifest-key';
import type { S3Location } from './manifest-object';

export interface ManifestSink {
  write(text: string): Promise<void>;
  /** Completes the manifest; the S3 sink returns the object's ETag. */
  commit(): Promise<{ etag?: string }>;
  abort(): Promise<void>;
}

/** One manifest line per object: `bucket,encoded-key`. */
export function manifestLine(bucket: string, key: string): string {
  return `${bucket},${encodeManifestKey(key)}`;
}

export async function writeManifest(
  keys: KeySource,
  bucket: string,
  sink: ManifestSink,
  opts: { signal?: AbortSignal } = {},
): Promise<{ objects: number; etag?: string }> {
  let objects = 0;
  try {
    for await (const page of keys.pages({ signal: opts.signal })) {
      if (opts.signal?.aborted) throw new Error('interrupted');
      if (page.objects.length) {
        await sink.write(`${page.objects.map((o) => manifestLine(bucket, o.key)).join('\n')}\n`);
        objects += page.objects.length;
      }
    }
    const { etag } = await sink.commit();
    return { objects, etag };
  } catch (err) {
    await sink.abort();
    throw err;
  }
}

export function fileSink(file: string): ManifestSink {
  const out = new AtomicLineWriter(file);
  return {
    async write(text) {
      out.write(text.slice(0, -1)); // the writer adds the last newline
    },
    async commit() {
      out.commit();
      return {};
    },
    async abort() {
      out.abort();
    },
  };
}

/** `params`: more PutObject parameters (the new bucket's server-side encryption, for a job's manifest there). */
export function s3Sink(client: S3Client, at: S3Location, params: Partial<PutObjectCommandInput> = {}): ManifestSink {
  const body = new PassThrough();
  const abortController = new AbortController();
  const upload = new Upload({
    client,
    params: { ...params, Bucket: at.bucket, Key: at.key, Body: body, ContentType: 'text/csv' },
    leavePartsOnError: false,
    abortController,
  });
  const done = upload.done();
  done.catch(() => {
    /* surfaced by commit(), or moot after abort() */
  });
  return {
    async write(text) {
      if (!body.write(text)) await Promise.race([once(body, 'drain'), done]);
    },
    async commit() {
      body.end();
      const out = await done;
      return { etag: bareEtag((out as { ETag?: string }).ETag) };
    },
    async abort() {
      abortController.abort();
      body.destroy();
      await done.catch(() => undefined);
    },
  };
}
