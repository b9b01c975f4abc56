/**
 * What the audit can find about a key, and the collector that counts every finding but keeps only a capped list (the
 * first keys in key order), so a bucket with millions of problems still gives a report of bounded size.
 */
import { compareKeys } from './key-order';

// The kinds live with the verdict rule, which the stacks read too (workspaces/audit-verdict.ts).
import { NOTICE_KINDS, PROBLEM_KINDS } from '../../../workspaces/audit-verdict';
export { NOTICE_KINDS, PROBLEM_KINDS };

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
    return {
      problems: this.kept.filter((f) => isProblem(f.kind)),
      notices: this.kept.filter((f) => !isProblem(f.kind)),
    };
  }

  private trim(): void {
    const order = (a: Finding, b: Finding) =>
      compareKeys(a.key, b.key) || a.kind.localeCompare(b.kind) || a.message.localeCompare(b.message);
    const problems = this.kept
      .filter((f) => isProblem(f.kind))
      .sort(order)
      .slice(0, this.cap);
    const notices = this.kept
      .filter((f) => !isProblem(f.kind))
      .sort(order)
      .slice(0, this.cap);
    this.kept = [...problems, ...notices];
  }
}
