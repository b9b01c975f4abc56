/**
 * What the audit can find about a key, and the collector that counts every finding but keeps only a capped list (the
 * first keys in key order), so a bucket with millions of problems still gives a report of bounded size.
 */
import { compareKeys } from './key-order';

/** Problems: any one of them fails the audit. */
export const PROBLEM_KINDS = [
  /** In the legacy bucket, not in the new one. */
  'missing',
  /** The new object's size, its provenance and the checkpoint disagree on the plaintext size. */
  'size-mismatch',
  /** The plaintext SHA-256 disagrees: provenance vs checkpoint, or (deep) the bytes read vs what was recorded. */
  'hash-mismatch',
  /** The legacy object changed after it was copied: the copy is of an older version. */
  'source-changed',
  /** The migrator put the key in quarantine (a permanent failure a person must look at). */
  'quarantined',
  /** The migrator's attempts failed; its next run tries again. */
  'failed',
  /** Listed by the migrator but never attempted. */
  'pending',
  /** A legacy key the migrator's checkpoint does not know. */
  'not-in-checkpoint',
  /** A legacy object written after the last migration run started: someone still writes to the legacy bucket. */
  'legacy-written-after-migration',
  /** The key could not be checked (HEAD or deep read failed after the SDK's retries, or the legacy bytes do not decrypt). */
  'check-failed',
  /** A copy the migrator wrote and has not yet checked against the app's deletes (a run stopped in between). */
  'unrechecked-copy',
] as const;

/** Not problems: reported so a person sees them. */
export const NOTICE_KINDS = [
  /** The new bucket holds the app's own write of the key (no provenance): newer than legacy, kept as is. */
  'app-version',
  /** Deleted from the legacy bucket after it was copied, still in the new one (the app's delete may not have finished). */
  'copy-without-legacy',
  /** The app deleted the photo (its tombstone holds the key in the new bucket), yet the legacy bucket still has it. */
  'deleted-by-app',
] as const;

export type ProblemKind = (typeof PROBLEM_KINDS)[number];
export type NoticeKind = (typeof NOTICE_KINDS)[number];
export type FindingKind = ProblemKind | NoticeKind;

export interface Finding {
  readonly key: string;
  readonly kind: FindingKind;
  /** One line for a person. Never holds object bytes or key material. */
  readonly message: string;
}

export function isProblem(kind: FindingKind): kind is ProblemKind {
  return (PROBLEM_KINDS as readonly string[]).includes(kind);
}

/**
 * Counts keys by finding kind; lists at most `cap` problems and `cap` notices, those of the first keys in key order.
 * A key found again later (the sample's re-reads) is added again with its new findings only.
 */
export class FindingCollector {
  readonly counts: Record<FindingKind, number> = Object.fromEntries(
    [...PROBLEM_KINDS, ...NOTICE_KINDS].map((k) => [k, 0]),
  ) as Record<FindingKind, number>;
  /** Keys with at least one problem. */
  problemKeys = 0;
  private kept: Finding[] = [];

  constructor(readonly cap: number) {}

  /** Adds the findings of one key: each kind counts once per key; every distinct finding is listed (up to the cap). */
  addKey(findings: readonly Finding[]): void {
    const seen = new Set<FindingKind>();
    let problem = false;
    for (const f of findings) {
      if (!seen.has(f.kind)) {
        seen.add(f.kind);
        this.counts[f.kind]++;
      }
      if (isProblem(f.kind)) problem = true;
      if (this.cap > 0) this.kept.push(f);
    }
    if (problem) this.problemKeys++;
    if (this.kept.length > 2 * this.cap + 16) this.trim();
  }

  get problems(): number {
    return PROBLEM_KINDS.reduce((n, k) => n + this.counts[k], 0);
  }

  /** The kept findings, problems and notices separately, each in key order and capped. */
  listed(): { problems: Finding[]; notices: Finding[] } {
    this.trim();
    return { problems: this.kept.filter((f) => isProblem(f.kind)), notices: this.kept.filter((f) => !isProblem(f.kind)) };
  }

  private trim(): void {
    const order = (a: Finding, b: Finding) => compareKeys(a.key, b.key) || a.kind.localeCompare(b.kind) || a.message.localeCompare(b.message);
    const problems = this.kept.filter((f) => isProblem(f.kind)).sort(order).slice(0, this.cap);
    const notices = this.kept.filter((f) => !isProblem(f.kind)).sort(order).slice(0, this.cap);
    this.kept = [...problems, ...notices];
  }
}
