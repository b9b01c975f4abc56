/**
 * The job's manifest: a Batch Operations CSV (`Bucket,Key`, keys URL-encoded, no header) in the new bucket under
 * `<reportsPrefix>manifests/`, written from a listing of the legacy bucket or from the keys an earlier job left
 * failed, by the same streamed writer as `npm run manifest` (sources/write-manifest.ts); or an existing one named by
 * its s3:// URL. Either way the job is pinned to the ETag the manifest object has now.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { batchPrefixes } from '../../../workspaces/batch-layout';
import type { LoadedWorkspace } from '../../../workspaces/load';
import type { Checkpoint } from '../migrate/checkpoint';
import type { ObjectState } from '../objects/object-states';
import { sseParams } from '../objects/write-new';
import { fileStamp } from '../report/files';
import { bucketListing } from '../sources/bucket-listing';
import type { KeySource } from '../sources/key-source';
import { s3ManifestObjects, type S3Location } from '../sources/manifest-object';
import { s3Sink, writeManifest as writeCsvManifest } from '../sources/write-manifest';
import type { ManifestLocation } from './create-job';

/** The manifest object as it is now: its ETag pins the job to exactly these bytes. */
export async function manifestAt(s3: S3Client, at: S3Location): Promise<ManifestLocation> {
  return { ...at, etag: await s3ManifestObjects(s3).etag(at) };
}

export interface WrittenManifest extends ManifestLocation {
  readonly objects: number;
}

/**
 * Writes the keys of `keys` as a CSV manifest into the new bucket (with `writer`), under
 * `<reportsPrefix>manifests/<name>.csv`. An abort of `signal` stops it with nothing written (the upload is aborted).
 */
async function writeJobManifest(
  ws: LoadedWorkspace,
  writer: S3Client,
  keys: KeySource,
  name: string,
  signal?: AbortSignal,
): Promise<WrittenManifest> {
  const at = { bucket: ws.primary.bucket, key: `${batchPrefixes(ws).manifests}${name}.csv` };
  const { objects } = await writeCsvManifest(
    keys,
    ws.legacy.bucket,
    s3Sink(writer, at, sseParams(ws.primary.encryption)),
    { signal },
  );
  return { ...(await manifestAt(writer, at)), objects };
}

/** A manifest of every key of the legacy bucket (under `prefix`), listed with the legacy side's client. */
export async function writeManifest(
  ws: LoadedWorkspace,
  legacy: { client: S3Client; bucket: string },
  writer: S3Client,
  o: { prefix?: string; now?: Date; signal?: AbortSignal } = {},
): Promise<WrittenManifest> {
  return writeJobManifest(
    ws,
    writer,
    bucketListing(legacy.client, legacy.bucket, { prefix: o.prefix }),
    `${ws.env}-${fileStamp(o.now)}`,
    o.signal,
  );
}

/**
 * A manifest of the keys an earlier job left `failed` (and, when asked, `quarantined`), from the checkpoint its
 * report was read into: the retry of just those.
 */
export async function writeRetryManifest(
  ws: LoadedWorkspace,
  writer: S3Client,
  checkpoint: Checkpoint,
  o: { jobId: string; quarantined: boolean; now?: Date; signal?: AbortSignal },
): Promise<WrittenManifest> {
  const states: ObjectState[] = o.quarantined ? ['failed', 'quarantined'] : ['failed'];
  const failedKeys: KeySource = {
    describe: `failed keys of batch job ${o.jobId}`,
    async *pages() {
      let objects = [];
      for (const row of checkpoint.rows(states)) {
        objects.push(row);
        if (objects.length >= 1000) {
          yield { objects, cursor: row.key, isLast: false };
          objects = [];
        }
      }
      yield { objects, cursor: '', isLast: true };
    },
  };
  return writeJobManifest(ws, writer, failedKeys, `${ws.env}-retry-of-${o.jobId}-${fileStamp(o.now)}`, o.signal);
}
