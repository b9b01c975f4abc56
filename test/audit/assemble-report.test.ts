/**
 * The audit report assembled from what an audit collected (audit/assemble-report.ts), without S3: the figures land
 * where the report's schema puts them, the optional parts appear only when there is something to say, and the verdict
 * is the one the figures give.
 */
import { assembleAuditReport, zeroKeyCounts, type AuditCollected } from '../../migrator/src/audit/assemble-report';
import type { CheckpointFacts } from '../../migrator/src/audit/checkpoint-facts';
import type { FallbackCount } from '../../migrator/src/audit/fallback-count';
import { auditReportSchema, withVerdict } from '../../migrator/src/audit/report';
import { loadWorkspace } from '../../workspaces/load';
import { cleanFacts, legacyObjects } from '../helpers/audit-report';

const ws = loadWorkspace('prod');
const at = new Date('2025-06-01T12:00:00Z');

/** What an audit collected to make exactly the clean report of test/helpers/audit-report.ts. */
function collectedOfCleanAudit(): AuditCollected {
  const facts = cleanFacts(ws, legacyObjects(3), at);
  const { maxGapSeconds: _default, ...coverage } = facts.fallback.coverage;
  const { byKind, problemKeys, ...keyCounts } = facts.counts;
  return {
    startedAt: new Date(facts.startedAt),
    finishedAt: new Date(facts.finishedAt),
    endpoints: {},
    options: { deep: false, concurrency: 32, maxListed: 1000 },
    checkpoint: { facts: facts.checkpoint as CheckpointFacts, problems: [] },
    counts: keyCounts,
    findings: { byKind, problemKeys, listed: { problems: [], notices: [] } },
    legacyListing: {
      digest: facts.legacyListing.digest,
      objects: facts.legacyListing.objects,
      bytes: facts.legacyListing.bytes,
    },
    newListing: { ...facts.newListing },
    probeLeftovers: { objects: 0, bytes: 0 },
    fallback: { ...facts.fallback, coverage } as FallbackCount,
  };
}

describe('assembleAuditReport', () => {
  test("a clean audit's figures make the clean report, field for field (the default --max-gap: 15 minutes)", () => {
    const report = assembleAuditReport(ws, collectedOfCleanAudit());
    expect(report).toEqual(withVerdict(cleanFacts(ws, legacyObjects(3), at)));
    expect(report.passed).toBe(true);
    expect(report.fallback.coverage.maxGapSeconds).toBe(900);
    expect(auditReportSchema.parse(report)).toEqual(report);
  });

  test('endpoints, options, the sample seed and the time taken as collected', () => {
    const c = collectedOfCleanAudit();
    const report = assembleAuditReport(ws, {
      ...c,
      startedAt: new Date('2025-06-01T11:00:00Z'),
      finishedAt: new Date('2025-06-01T11:02:30.500Z'),
      endpoints: { legacy: 'http://127.0.0.1:7480', current: 'http://127.0.0.1:7481' },
      options: { deep: true, sample: 5, sampleSeed: 'seed', concurrency: 8, maxListed: 10, maxGapMs: 60_000 },
    });
    expect(report.legacy.endpoint).toBe('http://127.0.0.1:7480');
    expect(report.primary).toEqual({
      bucket: ws.primary.bucket,
      account: ws.primary.accountId,
      endpoint: 'http://127.0.0.1:7481',
    });
    expect(report.seconds).toBe(150.5);
    expect(report.options).toEqual({ deep: true, sample: 5, sampleSeed: 'seed', concurrency: 8 });
    expect(report.problems.cap).toBe(10);
    expect(report.fallback.coverage.maxGapSeconds).toBe(60);
  });

  test('findings: totals by problem and notice kinds, the listed ones, and a failed verdict naming them', () => {
    const c = collectedOfCleanAudit();
    const missing = { kind: 'missing' as const, key: 'chats/0001/photo.jpg', message: 'not in the new bucket' };
    const report = assembleAuditReport(ws, {
      ...c,
      counts: { ...c.counts, verified: 2 },
      findings: {
        byKind: { ...c.findings.byKind, missing: 1, 'size-mismatch': 2 },
        problemKeys: 2,
        listed: { problems: [missing], notices: [] },
      },
    });
    expect(report.counts).toMatchObject({ verified: 2, problemKeys: 2 });
    expect(report.problems).toEqual({ total: 3, cap: 1000, listed: [missing] });
    expect(report.notices.total).toBe(0);
    expect(report.passed).toBe(false);
    expect(report.reasons).toContain('2 key(s) with problems (missing 1, size-mismatch 2)');
  });

  test("the Batch Operations prefix, a probe's leftovers and the shards appear only when there are some", () => {
    const c = collectedOfCleanAudit();
    const plain = assembleAuditReport(ws, c);
    expect(plain.newListing).toEqual({ objects: 3, bytes: c.newListing.bytes });
    expect(plain.checkpoint).not.toHaveProperty('shards');

    const shard = (i: number): CheckpointFacts => ({ ...c.checkpoint.facts, shard: `${i}/2`, path: `cp-${i}.sqlite` });
    const report = assembleAuditReport(ws, {
      ...c,
      notAudited: { prefix: 'batch-reports/', objects: 4, bytes: 400 },
      probeLeftovers: { objects: 1, bytes: 7 },
      checkpoint: {
        ...c.checkpoint,
        shards: [shard(1), shard(2)],
        problems: ['shard 2/2: the listing did not finish'],
      },
    });
    expect(report.newListing.notAudited).toEqual({
      prefix: 'batch-reports/',
      why: "S3 Batch Operations jobs' manifests and completion reports",
      objects: 4,
      bytes: 400,
    });
    expect(report.newListing.probeLeftovers).toMatchObject({ objects: 1, bytes: 7 });
    expect(report.checkpoint.shards?.map((s) => [s.shard, s.path])).toEqual([
      ['1/2', 'cp-1.sqlite'],
      ['2/2', 'cp-2.sqlite'],
    ]);
    expect(report.migrationProblems).toEqual(['shard 2/2: the listing did not finish']);
    expect(report.passed).toBe(false);
  });

  test('zeroKeyCounts: every count at 0', () => {
    expect(Object.values(zeroKeyCounts())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(assembleAuditReport(ws, { ...collectedOfCleanAudit(), counts: zeroKeyCounts() }).counts.legacyKeys).toBe(0);
  });
});
