/**
 * `migrate --manifest s3://bucket/key`: the key source for a manifest object, chosen by the object's name: a key
 * ending in `manifest.json` is an S3 Inventory report (inventory-manifest.ts), anything else a Batch Operations CSV
 * manifest (batch-csv-manifest.ts).
 *
 * The manifest is pinned by the ETag it has now (HEAD): the source's `describe` names the URL and that ETag, so the
 * checkpoint identity refuses a changed manifest for an old checkpoint, and every read is If-Match that ETag.
 *
 * Credentials: the manifest is read with the legacy side's client (an inventory report is delivered to a bucket of
 * the source account, usually; a Batch CSV written by `npm run manifest` too). The legacy credentials (the migration
 * reader role, or the static legacy keys) must then be allowed s3:GetObject on the manifest's objects.
 */
import { batchCsvManifest, type ManifestSourceOptions } from './batch-csv-manifest';
import { inventoryManifest, readInventoryManifest } from './inventory-manifest';
import type { KeySource } from './key-source';
import { parseS3Url, type ManifestObjects } from './manifest-object';

export type ManifestKind = 'inventory' | 'batch-csv';

export function manifestKind(key: string): ManifestKind {
  return /(^|\/)manifest\.json$/.test(key) ? 'inventory' : 'batch-csv';
}

export async function openManifest(
  objects: ManifestObjects,
  url: string,
  opts: ManifestSourceOptions,
): Promise<KeySource> {
  const at = parseS3Url(url);
  const etag = await objects.etag(at);
  if (manifestKind(at.key) === 'inventory') {
    const manifest = await readInventoryManifest(objects, at, etag, opts.legacyBucket);
    return inventoryManifest(objects, at, etag, manifest, opts);
  }
  return batchCsvManifest(objects, at, etag, opts);
}
