/**
 * The gate's last look at the legacy bucket: list it again and compare the digest with the audit's. Any object added,
 * removed or rewritten since the audit changes it, and then the audit no longer describes what would be destroyed.
 */
import type { AuditReport } from '../audit/report';
import { digestListing, type DigestedObject } from '../audit/listing-digest';

export async function listingRefusals(
  report: AuditReport,
  objects: AsyncIterable<DigestedObject>,
): Promise<{ reasons: string[]; digest: string; objects: number }> {
  const now = await digestListing(objects);
  const was = report.legacyListing;
  const reasons =
    now.digest === was.digest
      ? []
      : [
          `the legacy bucket changed since the audit: its listing digest is now ${now.digest} (${now.objects} objects), the audit saw ${was.digest} (${was.objects} objects); audit again`,
        ];
  return { reasons, digest: now.digest, objects: now.objects };
}
