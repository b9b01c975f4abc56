/**
 * One audit: counts the fallback hits of the window first, and measures how much of it the store's heartbeats cover
 * (a bad log group fails before any listing), then walks the
 * sorted merge of the legacy listing, the new bucket's listing and the checkpoint (or the k-way merge of the n
 * checkpoints of a sharded migration, checkpoint-set.ts), checking every legacy key with at
 * most `concurrency` HEADs in flight (and, with `deep`, re-reading both sides: at most `deepConcurrency` keys and
 * `deepMemoryBytes` of object data at once), digests the legacy listing on the way, then re-reads a random sample of
 * verified keys (`sample`). Memory: one listing page per side, one checkpoint batch, the keys in flight, the capped
 * findings and the sample; none of it grows with the number of keys.
 *
 * With Batch Operations enabled, the new bucket's keys under its reports prefix (the jobs' manifests and completion
 * reports, not photos) are left out of the comparison and counted apart in the report; so are keys under the
 * migrator's conditional-write probe prefix (a killed run's leftovers; migrate/conditional-write-probe.ts).
 *
 * It returns the report; writing it is the caller's (the CLI writes nothing when the audit cannot finish).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { LoadedWorkspace } from '../../../workspaces/load';
import type { Codec } from '../codec/codec';
import { InFlight } from '../in-flight';
import { PROBE_PREFIX } from '../migrate/conditional-write-probe';
import { MemoryBudget } from '../migrate/memory-budget';
import type { Provenance } from '../objects/provenance';
import type { CheckpointSet } from './checkpoint-set';
import { checkKey } from './check-key';
import { deepCompare } from './deep-compare';
import type { FallbackCount } from './fallback-count';
import { assembleAuditReport, zeroKeyCounts } from './assemble-report';
import { FindingCollector, type Finding } from './findings';
import { listObjects } from './list-objects';
import { ListingDigest } from './listing-digest';
import { mergeListings, type MergedKey } from './merge-listings';
import type { AuditEvents } from './progress';
import type { AuditReport } from './report';
import { Reservoir, randomSeed } from './sample';
import type { TimeWindow } from './window';

export interface BucketSide {
  readonly client: S3Client;
  /** The bucket as requests name it (on RGW, maybe `tenant:bucket`). */
  readonly bucket: string;
  /** The endpoint URL, or undefined for AWS. */
  readonly endpoint?: string;
}

export interface AuditDeps {
  readonly ws: LoadedWorkspace;
  readonly legacy: BucketSide;
  readonly current: BucketSide;
  /** The migrator's checkpoint, or the n checkpoints of a migration run as n shards (checkpoint-set.ts). */
  readonly checkpoints: CheckpointSet;
  /** Needed for `deep` and `sample` (the legacy bytes are decrypted). */
  readonly codec?: Codec;
  readonly countFallbackHits: (window: TimeWindow) => Promise<FallbackCount>;
  readonly events?: AuditEvents;
  readonly now?: () => Date;
}

export interface AuditOptions {
  readonly window: TimeWindow;
  /** The longest time in the window the heartbeats may leave uncovered (`--max-gap`); default 15 minutes. */
  readonly maxGapMs?: number;
  readonly deep: boolean;
  /** Re-read this many randomly chosen verified keys on both sides. */
  readonly sample?: number;
  readonly sampleSeed?: string;
  /** HEADs in flight. */
  readonly concurrency: number;
  /** Deep re-reads in flight. */
  readonly deepConcurrency: number;
  /**
   * Bytes of object data deep re-reads may hold at once: each reserves what the codec holds for it (codec.memoryNeed).
   */
  readonly deepMemoryBytes: number;
  /** Findings listed in the report (all are counted). */
  readonly maxListed: number;
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

interface Sampled {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  readonly provenance: Provenance;
}

export async function runAudit(deps: AuditDeps, opts: AuditOptions): Promise<AuditReport> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const { ws, legacy, current } = deps;
  if ((opts.deep || opts.sample) && !deps.codec) throw new Error('runAudit: deep and sample re-reads need the codec');
  const signal = opts.signal;
  const deepDeps = deps.codec ? { legacy, current, codec: deps.codec } : undefined;

  deps.events?.phase?.('fallback-count', {
    start: opts.window.start.toISOString(),
    end: opts.window.end.toISOString(),
  });
  const fallback = await deps.countFallbackHits(opts.window);

  deps.events?.phase?.('merge', { legacyBucket: legacy.bucket, newBucket: current.bucket });
  const collector = new FindingCollector(opts.maxListed);
  const digest = new ListingDigest();
  const newListing = { objects: 0, bytes: 0 };
  const counts = zeroKeyCounts();
  const sampleSeed = opts.sample ? (opts.sampleSeed ?? randomSeed()) : undefined;
  const reservoir = opts.sample ? new Reservoir<Sampled>(opts.sample, sampleSeed!) : undefined;
  const deepSlots = new MemoryBudget(opts.deepConcurrency); // a counting semaphore: one unit per deep re-read
  const budget = new MemoryBudget(opts.deepMemoryBytes);
  /**
   * A deep re-read holds a slot and its share of the memory budget: what the codec holds (codec.memoryNeed: a few
   * chunks when it streams) and a chunk of each side's hash. One larger than the whole budget runs alone.
   */
  const deepRead = async (key: string, etag: string, storedSize: number, prov: Provenance) => {
    const release = await deepSlots.acquire(1);
    const free = await budget.acquire(Math.min(budget.capacity, deepDeps!.codec.memoryNeed(storedSize) + 64 * 1024));
    try {
      const deep = await deepCompare(key, etag, prov, deepDeps!, signal);
      counts.deepCompared++;
      return deep;
    } finally {
      free();
      release();
    }
  };
  // With shards, a key's last run is the last run of its own shard.
  const ctxOf = (key: string) => ({ lastRunStartedAt: deps.checkpoints.lastRunStartedAt(key) });
  // The Batch Operations jobs' manifests and completion reports live in the new bucket under their prefix: not photos.
  const batchPrefix = ws.batchOperations.enabled ? ws.batchOperations.reportsPrefix : undefined;
  const notAudited = { objects: 0, bytes: 0 };
  const probeLeftovers = { objects: 0, bytes: 0 };

  const judge = async (item: MergedKey): Promise<void> => {
    const verdict = await checkKey(item, current, ctxOf(item.key), signal);
    if (!item.legacy) {
      if (verdict.outcome === 'only-in-new') counts.onlyInNew++;
      else counts.checkpointOnly++;
      if (verdict.findings.length) collector.addKey(verdict.findings);
      return;
    }
    const findings: Finding[] = [...verdict.findings];
    let outcome = verdict.outcome;
    if (opts.deep && verdict.provenance && deepDeps) {
      const deep = await deepRead(item.key, item.legacy.etag, item.legacy.size, verdict.provenance);
      findings.push(...deep.findings);
      if (deep.findings.length) outcome = 'problem';
    }
    collector.addKey(findings);
    if (outcome === 'verified') counts.verified++;
    else if (outcome === 'app-version') counts.appVersion++;
    if (outcome === 'verified' && reservoir && verdict.provenance)
      reservoir.offer({
        key: item.key,
        etag: item.legacy.etag,
        size: item.legacy.size,
        provenance: verdict.provenance,
      });
    deps.events?.checked?.(outcome === 'problem');
  };

  const inFlight = new InFlight();
  let failure: unknown;
  const merged = mergeListings({
    legacy: listObjects(legacy.client, legacy.bucket, { pageSize: opts.pageSize, signal }),
    current: listObjects(current.client, current.bucket, { pageSize: opts.pageSize, signal }),
    checkpoint: deps.checkpoints.rows(),
  });
  for await (const item of merged) {
    if (failure || signal?.aborted) break;
    if (batchPrefix && item.current && !item.legacy && !item.checkpoint && item.key.startsWith(batchPrefix)) {
      notAudited.objects++;
      notAudited.bytes += item.current.size;
      continue;
    }
    if (item.current && !item.legacy && !item.checkpoint && item.key.startsWith(PROBE_PREFIX)) {
      probeLeftovers.objects++;
      probeLeftovers.bytes += item.current.size;
      continue;
    }
    if (item.legacy) {
      digest.add(item.legacy);
      counts.legacyKeys++;
    }
    if (item.current) {
      newListing.objects++;
      newListing.bytes += item.current.size;
    }
    await inFlight.room(opts.concurrency);
    inFlight.add(
      judge(item).catch((err) => {
        failure ??= err;
      }),
    );
  }
  await inFlight.drained();
  if (signal?.aborted) throw signal.reason ?? new Error('the audit was interrupted');
  if (failure) throw failure;

  const sampled = reservoir?.sample() ?? [];
  if (sampled.length && deepDeps) {
    deps.events?.phase?.('sample', { keys: sampled.length, of: reservoir!.offered, seed: sampleSeed });
    await Promise.all(
      sampled.map(async (s) => {
        const deep = await deepRead(s.key, s.etag, s.size, s.provenance);
        if (deep.findings.length) {
          collector.addKey(deep.findings);
          counts.verified--;
        }
      }),
    );
    if (signal?.aborted) throw signal.reason ?? new Error('the audit was interrupted');
  }

  return assembleAuditReport(ws, {
    startedAt: started,
    finishedAt: now(),
    endpoints: { legacy: legacy.endpoint, current: current.endpoint },
    options: {
      deep: opts.deep,
      sample: opts.sample,
      sampleSeed,
      concurrency: opts.concurrency,
      maxListed: opts.maxListed,
      maxGapMs: opts.maxGapMs,
    },
    checkpoint: {
      facts: deps.checkpoints.facts,
      shards: deps.checkpoints.shardCount ? deps.checkpoints.members.map((m) => m.facts) : undefined,
      problems: deps.checkpoints.problems(),
    },
    counts,
    findings: { byKind: collector.counts, problemKeys: collector.problemKeys, listed: collector.listed() },
    legacyListing: { digest: digest.digest(), objects: digest.objects, bytes: digest.bytes },
    newListing,
    notAudited: batchPrefix ? { prefix: batchPrefix, ...notAudited } : undefined,
    probeLeftovers,
    fallback,
  });
}
