/**
 * The audit report assembled from what one audit collected (run-audit.ts): the counts, the findings, the listings and
 * their digest, the checkpoints' facts and the fallback hits with their coverage. A pure function of its inputs: no
 * request, no clock, no file; the verdict is derived from the figures (report.ts withVerdict).
 */
import { DEFAULT_MAX_GAP_MS } from '../../../workspaces/audit-verdict';
import type { LoadedWorkspace } from '../../../workspaces/load';
import { PROBE_PREFIX } from '../migrate/conditional-write-probe';
import type { CheckpointFacts } from './checkpoint-facts';
import type { FallbackCount } from './fallback-count';
import { NOTICE_KINDS, PROBLEM_KINDS, type Finding, type FindingKind } from './findings';
import { LISTING_DIGEST_ALGORITHM } from './listing-digest';
import { AUDIT_FORMAT_VERSION, AUDIT_TOOL, withVerdict, type AuditReport } from './report';

/** Objects and their stored bytes. */
export interface Tally {
  objects: number;
  bytes: number;
}

/** Keys by what the audit found of them. */
export interface KeyCounts {
  legacyKeys: number;
  verified: number;
  appVersion: number;
  onlyInNew: number;
  checkpointOnly: number;
  deepCompared: number;
}

export const zeroKeyCounts = (): KeyCounts => ({
  legacyKeys: 0,
  verified: 0,
  appVersion: 0,
  onlyInNew: 0,
  checkpointOnly: 0,
  deepCompared: 0,
});

/** What one audit collected, everything the report says. */
export interface AuditCollected {
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /** The endpoint URLs of both sides (undefined: AWS). */
  readonly endpoints: { readonly legacy?: string; readonly current?: string };
  readonly options: {
    readonly deep: boolean;
    readonly sample?: number;
    readonly sampleSeed?: string;
    readonly concurrency: number;
    /** Findings listed (all are counted). */
    readonly maxListed: number;
    /** `--max-gap` (default DEFAULT_MAX_GAP_MS). */
    readonly maxGapMs?: number;
  };
  readonly checkpoint: {
    /** The whole migration's facts (the shards' summed). */
    readonly facts: CheckpointFacts;
    /** Each shard's own facts, when the migration ran as n shards. */
    readonly shards?: readonly CheckpointFacts[];
    /** Why the migration is not finished (checkpoint-facts.ts checkpointProblems). */
    readonly problems: string[];
  };
  readonly counts: KeyCounts;
  readonly findings: {
    readonly byKind: Record<FindingKind, number>;
    readonly problemKeys: number;
    readonly listed: { readonly problems: Finding[]; readonly notices: Finding[] };
  };
  readonly legacyListing: { readonly digest: string; readonly objects: number; readonly bytes: number };
  readonly newListing: Tally;
  /** The new bucket's keys under the Batch Operations reports prefix (not photos), when Batch Operations are on. */
  readonly notAudited?: Tally & { readonly prefix: string };
  /** A killed migration's conditional-write probes left in the new bucket. */
  readonly probeLeftovers: Tally;
  readonly fallback: FallbackCount;
}

export function assembleAuditReport(ws: LoadedWorkspace, c: AuditCollected): AuditReport {
  const { byKind } = c.findings;
  const { facts } = c.checkpoint;
  return withVerdict({
    tool: AUDIT_TOOL,
    formatVersion: AUDIT_FORMAT_VERSION,
    env: ws.env,
    target: ws.target,
    legacy: { bucket: ws.legacy.bucket, account: ws.legacy.accountId, endpoint: c.endpoints.legacy ?? null },
    primary: { bucket: ws.primary.bucket, account: ws.primary.accountId, endpoint: c.endpoints.current ?? null },
    startedAt: c.startedAt.toISOString(),
    finishedAt: c.finishedAt.toISOString(),
    seconds: (c.finishedAt.getTime() - c.startedAt.getTime()) / 1000,
    options: {
      deep: c.options.deep,
      sample: c.options.sample ?? null,
      sampleSeed: c.options.sampleSeed ?? null,
      concurrency: c.options.concurrency,
    },
    checkpoint: {
      path: facts.path,
      prefix: facts.prefix,
      listingComplete: facts.listingComplete,
      runs: facts.runs,
      lastRun: facts.lastRun,
      states: facts.states,
      ...(facts.source ? { source: facts.source } : {}),
      ...(c.checkpoint.shards
        ? {
            shards: c.checkpoint.shards.map((f) => ({
              shard: f.shard!,
              path: f.path,
              listingComplete: f.listingComplete,
              runs: f.runs,
              lastRun: f.lastRun,
              states: f.states,
            })),
          }
        : {}),
    },
    legacyListing: {
      digest: c.legacyListing.digest,
      algorithm: LISTING_DIGEST_ALGORITHM,
      objects: c.legacyListing.objects,
      bytes: c.legacyListing.bytes,
    },
    newListing: {
      ...c.newListing,
      ...(c.notAudited
        ? {
            notAudited: {
              prefix: c.notAudited.prefix,
              why: "S3 Batch Operations jobs' manifests and completion reports",
              objects: c.notAudited.objects,
              bytes: c.notAudited.bytes,
            },
          }
        : {}),
      ...(c.probeLeftovers.objects ? { probeLeftovers: { prefix: PROBE_PREFIX, ...c.probeLeftovers } } : {}),
    },
    counts: { ...c.counts, problemKeys: c.findings.problemKeys, byKind },
    problems: {
      total: PROBLEM_KINDS.reduce((n, k) => n + byKind[k], 0),
      cap: c.options.maxListed,
      listed: c.findings.listed.problems,
    },
    notices: {
      total: NOTICE_KINDS.reduce((n, k) => n + byKind[k], 0),
      cap: c.options.maxListed,
      listed: c.findings.listed.notices,
    },
    migrationProblems: c.checkpoint.problems,
    fallback: {
      ...c.fallback,
      coverage: { ...c.fallback.coverage, maxGapSeconds: (c.options.maxGapMs ?? DEFAULT_MAX_GAP_MS) / 1000 },
    },
  });
}
