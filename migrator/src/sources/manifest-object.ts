/**
 * Reading manifest objects (a manifest.json, its CSV.gz data files, a Batch Operations CSV) from S3: the location
 * `s3://bucket/key`, the object's ETag (HEAD), and a streamed GET pinned to an ETag (If-Match), so a manifest that
 * changes while a run reads it, or between a run and its resumption, is refused instead of mixed.
 *
 * The readers take a `ManifestObjects` rather than an S3 client so that tests and the benchmark can serve synthetic
 * manifests without a server; `s3ManifestObjects` is the real one.
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'stream';
import { ConfigError } from '../../../workspaces/errors';
import { describeAwsError, httpStatusOf } from '../aws/errors';
import { PermanentCopyError } from '../migrate/classify';
import { bareEtag } from '../objects/provenance';

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** `s3://bucket/key` (the key may hold any character; nothing is decoded). */
export function parseS3Url(text: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(text.trim());
  if (!m) throw new ConfigError(`"${text}" is not an S3 object URL: give s3://bucket/key`);
  return { bucket: m[1], key: m[2] };
}

export function formatS3Url(l: S3Location): string {
  return `s3://${l.bucket}/${l.key}`;
}

export interface ManifestObjects {
  /** The object's ETag (bare, without quotes); a missing object or a refusal is a one-line ConfigError. */
  etag(at: S3Location, signal?: AbortSignal): Promise<string>;
  /** The object's bytes as a stream; with `ifMatch`, only if it still has that ETag. */
  open(at: S3Location, opts?: { ifMatch?: string; signal?: AbortSignal }): Promise<{ body: Readable; etag: string }>;
}

export function s3ManifestObjects(client: S3Client): ManifestObjects {
  return {
    async etag(at, signal) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: at.bucket, Key: at.key }), {
          abortSignal: signal,
        });
        return bareEtag(out.ETag);
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 404)
          throw new ConfigError(`manifest ${formatS3Url(at)} does not exist (HTTP 404): check the URL`);
        if (status === 403)
          throw new ConfigError(
            `manifest ${formatS3Url(at)}: access denied (HTTP 403): it is read with the legacy side's credentials, which must be allowed s3:GetObject on it`,
          );
        throw err;
      }
    },
    async open(at, opts = {}) {
      try {
        const out = await client.send(
          new GetObjectCommand({
            Bucket: at.bucket,
            Key: at.key,
            IfMatch: opts.ifMatch ? `"${opts.ifMatch}"` : undefined,
          }),
          { abortSignal: opts.signal },
        );
        return { body: out.Body as Readable, etag: bareEtag(out.ETag) };
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 412) throw manifestChanged(at, opts.ifMatch);
        if (status === 404 || status === 403) {
          throw new PermanentCopyError(
            'ManifestUnreadable',
            `manifest object ${formatS3Url(at)}: ${describeAwsError(err)}`,
          );
        }
        throw err;
      }
    },
  };
}

export function manifestChanged(at: S3Location, etag: string | undefined): PermanentCopyError {
  return new PermanentCopyError(
    'ManifestChanged',
    `manifest object ${formatS3Url(at)} changed since it was first read (ETag no longer ${etag}); make a new checkpoint for the new manifest`,
  );
}

/** A manifest's fault (bad checksum, a row for another bucket, a malformed row): stops the run's listing for good. */
export function manifestRefused(message: string): PermanentCopyError {
  return new PermanentCopyError('ManifestRefused', message);
}
