/**
 * Audit reports for the gate's tests: the figures of a clean audit of a given legacy listing (its real digest), its
 * window covered by the heartbeats of 3 processes, made into a report by the audit's own verdict function, with any
 * field overridden.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LoadedWorkspace } from '../../workspaces/load';
import { LISTING_DIGEST_ALGORITHM, ListingDigest, type DigestedObject } from '../../migrator/src/audit/listing-digest';
import {
  AUDIT_FORMAT_VERSION,
  AUDIT_TOOL,
  withVerdict,
  type AuditFacts,
  type AuditReport,
} from '../../migrator/src/audit/report';
import { NOTICE_KINDS, PROBLEM_KINDS } from '../../migrator/src/audit/findings';
import { fullCoverage } from './heartbeats';

const HOUR = 3_600_000;

export function legacyObjects(n: number): DigestedObject[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `chats/${String(i).padStart(4, '0')}/photo.jpg`,
    etag: `etag${i}`,
    size: 1000 + i,
  }));
}

export function cleanFacts(
  ws: LoadedWorkspace,
  objects: DigestedObject[],
  finishedAt: Date,
  windowHours = 8 * 24,
): AuditFacts {
  const d = new ListingDigest();
  for (const o of objects) d.add(o);
  const startedAt = new Date(finishedAt.getTime() - 60_000);
  const window = {
    start: new Date(startedAt.getTime() - windowHours * HOUR).toISOString(),
    end: startedAt.toISOString(),
    seconds: windowHours * 3600,
  };
  const byKind = Object.fromEntries(
    [...PROBLEM_KINDS, ...NOTICE_KINDS].map((k) => [k, 0]),
  ) as AuditFacts['counts']['byKind'];
  return {
    tool: AUDIT_TOOL,
    formatVersion: AUDIT_FORMAT_VERSION,
    env: ws.env,
    target: ws.target,
    legacy: { bucket: ws.legacy.bucket, account: ws.legacy.accountId, endpoint: null },
    primary: { bucket: ws.primary.bucket, account: ws.primary.accountId, endpoint: null },
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: 60,
    options: { deep: false, sample: null, sampleSeed: null, concurrency: 32 },
    checkpoint: {
      path: '.bucketmove/prod/checkpoint.sqlite',
      prefix: '',
      listingComplete: true,
      runs: 1,
      lastRun: {
        id: 1,
        startedAt: new Date(finishedAt.getTime() - 10 * 24 * HOUR).toISOString(),
        finishedAt: new Date(finishedAt.getTime() - 9 * 24 * HOUR).toISOString(),
        outcome: 'complete',
      },
      states: {
        pending: 0,
        copied: objects.length,
        'already-migrated': 0,
        'kept-app-version': 0,
        vanished: 0,
        'deleted-during-copy': 0,
        quarantined: 0,
        failed: 0,
      },
    },
    legacyListing: { digest: d.digest(), algorithm: LISTING_DIGEST_ALGORITHM, objects: d.objects, bytes: d.bytes },
    newListing: { objects: objects.length, bytes: d.bytes },
    counts: {
      legacyKeys: objects.length,
      verified: objects.length,
      appVersion: 0,
      problemKeys: 0,
      onlyInNew: 0,
      checkpointOnly: 0,
      deepCompared: 0,
      byKind,
    },
    problems: { total: 0, cap: 1000, listed: [] },
    notices: { total: 0, cap: 1000, listed: [] },
    migrationProblems: [],
    fallback: {
      source: { kind: 'cloudwatch', location: ws.app.logGroup ?? '/ecs/app', region: ws.region },
      event: 'store.fallback_hit',
      window,
      hits: 0,
      sampleKeys: [],
      coverage: fullCoverage(window),
    },
  };
}

/** A report with the verdict its figures give (after `edit`), written as JSON; returns the path. */
export function writeReport(file: string, facts: AuditFacts, edit: (r: AuditReport) => AuditReport = (r) => r): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(edit(withVerdict(facts)), null, 2));
  return file;
}

export async function* asStream<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}
