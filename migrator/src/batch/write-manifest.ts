/**
 * The job's manifest: a Batch Operations CSV (`Bucket,Key`, keys URL-encoded, no header) in the new bucket under
 * `<reportsPrefix>manifests/`, written from a listing of the legacy bucket and streamed (one listing page in memory,
 * lib-storage's multipart Upload for the object), or an existing one named by its s3:// URL. Either way the job is
 * pinned to the ETag the manifest object has now.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'stream';
import type { LoadedWorkspace } from '../../../workspaces/load';
import { listLegacy } from '../migrate/list-legacy';
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
 * Lists the legacy bucket (with the legacy side's client) and writes its keys as a CSV manifest into the new bucket
 * (with `writer`), under `<reportsPrefix>manifests/<env>-<time>.csv`.
 */
export async function writeManifest(
  ws: LoadedWorkspace,
  legacy: { client: S3Client; bucket: string },
  writer: S3Client,
  o: { prefix?: string; now?: Date } = {},
): Promise<WrittenManifest> {
  const key = `${ws.batchOperations.reportsPrefix}manifests/${ws.env}-${fileStamp(o.now)}.csv`;
  let objects = 0;
  async function* lines(): AsyncGenerator<string> {
    for await (const page of listLegacy(legacy.client, legacy.bucket, { prefix: o.prefix })) {
      if (page.objects.length === 0) continue;
      objects += page.objects.length;
      yield page.objects.map((obj) => `${ws.legacy.bucket},${encodeKey(obj.key)}\n`).join('');
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
