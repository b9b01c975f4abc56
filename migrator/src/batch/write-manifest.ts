/**
 * The job's manifest: a Batch Operations CSV (`Bucket,Key`, keys URL-encoded, no header) in the new bucket under
 * `<reportsPrefix>manifests/`, written from a listing of the legacy bucket or from the keys an earlier job left
 * failed, streamed (one page of keys in memory, lib-storage's multipart Upload for the object); or an existing one
 * named by its s3:// URL. Either way the job is pinned to the ETag the manifest object has now.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'stream';
import type { LoadedWorkspace } from '../../../workspaces/load';
import type { Checkpoint } from '../migrate/checkpoint';
import { listLegacy } from '../migrate/list-legacy';
import type { ObjectState } from '../migrate/object-states';
import { bareEtag } from '../migrate/provenance';
import { sseParams } from '../migrate/write-new';
import { encodeKey } from '../report/batch-csv';
import { fileStamp } from '../report/files';
import type { ManifestLocation } from './create-job';

export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url.trim());
  if (!m) throw new Error(`"${url}" is not an s3://bucket/key URL`);
  return { bucket: m[1], key: m[2] };
}

/** The manifest object as it is now: its ETag pins the job to exactly these bytes. */
export async function manifestAt(s3: Pick<S3Client, 'send'>, bucket: string, key: string): Promise<ManifestLocation> {
  const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.ETag) throw new Error(`s3://${bucket}/${key} has no ETag`);
  return { bucket, key, etag: bareEtag(out.ETag) };
}

export interface WrittenManifest extends ManifestLocation {
  readonly objects: number;
}

/**
 * Writes keys as a CSV manifest into the new bucket (with `writer`), under `<reportsPrefix>manifests/<name>.csv`,
 * streamed: one batch of keys in memory at a time.
 */
export async function writeManifestOf(
  ws: LoadedWorkspace,
  writer: S3Client,
  batches: AsyncIterable<readonly string[]>,
  name: string,
): Promise<WrittenManifest> {
  const key = `${ws.batchOperations.reportsPrefix}manifests/${name}.csv`;
  let objects = 0;
  async function* lines(): AsyncGenerator<string> {
    for await (const keys of batches) {
      if (keys.length === 0) continue;
      objects += keys.length;
      yield keys.map((k) => `${ws.legacy.bucket},${encodeKey(k)}\n`).join('');
    }
  }
  const upload = new Upload({
    client: writer,
    params: { Bucket: ws.primary.bucket, Key: key, Body: Readable.from(lines()), ContentType: 'text/csv', ...sseParams(ws.primary.encryption) },
    leavePartsOnError: false,
  });
  await upload.done();
  return { ...(await manifestAt(writer, ws.primary.bucket, key)), objects };
}

/** A manifest of every key of the legacy bucket (under `prefix`), listed with the legacy side's client. */
export async function writeManifest(
  ws: LoadedWorkspace,
  legacy: { client: S3Client; bucket: string },
  writer: S3Client,
  o: { prefix?: string; now?: Date } = {},
): Promise<WrittenManifest> {
  async function* pages(): AsyncGenerator<string[]> {
    for await (const page of listLegacy(legacy.client, legacy.bucket, { prefix: o.prefix })) yield page.objects.map((obj) => obj.key);
  }
  return writeManifestOf(ws, writer, pages(), `${ws.env}-${fileStamp(o.now)}`);
}

/**
 * A manifest of the keys an earlier job left `failed` (and, when asked, `quarantined`), from the checkpoint its
 * report was read into: the retry of just those.
 */
export async function writeRetryManifest(
  ws: LoadedWorkspace,
  writer: S3Client,
  checkpoint: Checkpoint,
  o: { jobId: string; quarantined: boolean; now?: Date },
): Promise<WrittenManifest> {
  const states: ObjectState[] = o.quarantined ? ['failed', 'quarantined'] : ['failed'];
  async function* batches(): AsyncGenerator<string[]> {
    let batch: string[] = [];
    for (const row of checkpoint.rows(states)) {
      batch.push(row.key);
      if (batch.length >= 1000) {
        yield batch;
        batch = [];
      }
    }
    yield batch;
  }
  return writeManifestOf(ws, writer, batches(), `${ws.env}-retry-of-${o.jobId}-${fileStamp(o.now)}`);
}
