/**
 * `--dry-run`: lists the legacy bucket and tells, for each key, what a run would do, by a HEAD on the new bucket.
 * It writes nothing to either bucket and keeps no checkpoint; a report is written only where --report asks.
 */
import { csvLine } from '../report/batch-csv';
import { AtomicLineWriter } from '../report/files';
import { classify } from './classify';
import { listLegacy } from '../objects/list-legacy';
import { isTombstone, readProvenance } from '../objects/provenance';
import type { Source } from './copy-object';
import { headTarget, type Target } from '../objects/write-new';

export interface DryRunResult {
  readonly listed: number;
  readonly listedBytes: number;
  readonly wouldCopy: number;
  readonly alreadyMigrated: number;
  readonly appVersionKept: number;
  /** Deleted by the app meanwhile (a tombstone holds the key). */
  readonly deleted: number;
  readonly errors: number;
}

export async function dryRun(
  source: Source,
  target: Target,
  opts: { prefix: string; limit?: number; concurrency: number; reportCsv?: string; signal: AbortSignal },
): Promise<DryRunResult> {
  const res = { listed: 0, listedBytes: 0, wouldCopy: 0, alreadyMigrated: 0, appVersionKept: 0, deleted: 0, errors: 0 };
  const out = opts.reportCsv ? new AtomicLineWriter(opts.reportCsv) : undefined;
  try {
    const limit = opts.limit ?? Infinity;
    outer: for await (const page of listLegacy(source.client, source.bucket, {
      prefix: opts.prefix,
      signal: opts.signal,
    })) {
      for (let i = 0; i < page.objects.length; i += opts.concurrency) {
        const slice = page.objects.slice(i, i + Math.min(opts.concurrency, limit - res.listed));
        const lines = await Promise.all(
          slice.map(async (o) => {
            let message: string;
            let ok = true;
            let code: string | null = null;
            let status: number | null = null;
            try {
              const existing = await headTarget(target, o.key, opts.signal);
              const prov = existing && readProvenance(existing.metadata);
              if (!existing) {
                res.wouldCopy++;
                message = `Dry run: would decrypt and copy (${o.size} stored bytes)`;
              } else if (isTombstone(existing.metadata)) {
                res.deleted++;
                message = 'Dry run: deleted by the app (a tombstone holds the key); nothing to copy';
              } else if (prov && prov.sourceEtag === o.etag) {
                res.alreadyMigrated++;
                message = 'Dry run: already migrated';
              } else {
                res.appVersionKept++;
                message = 'Dry run: the new bucket has its own version of this key; it would be kept';
              }
            } catch (err) {
              const why = classify(err);
              res.errors++;
              ok = false;
              code = why.code;
              status = why.httpStatus ?? null;
              message = `Dry run: cannot check the new bucket: ${why.message}`;
            }
            return csvLine({
              bucket: source.bucket,
              key: o.key,
              versionId: null,
              taskStatus: ok ? 'succeeded' : 'failed',
              errorCode: code,
              httpStatusCode: status,
              resultMessage: message,
            });
          }),
        );
        for (const o of slice) {
          res.listed++;
          res.listedBytes += o.size;
        }
        for (const l of lines) out?.write(l);
        if (res.listed >= limit || opts.signal.aborted) break outer;
      }
    }
    out?.commit();
  } catch (err) {
    out?.abort();
    throw err;
  }
  return res;
}
