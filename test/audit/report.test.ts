/** The audit report: verdict from the figures, atomic JSON + Markdown, reading back, the newest report; durations. */
import * as fs from 'fs';
import * as path from 'path';
import {
  AuditReportError,
  auditReportName,
  failureReasons,
  newestAuditReport,
  readAuditReport,
  withVerdict,
  writeAuditReport,
} from '../../migrator/src/audit/report';
import { mdCode } from '../../migrator/src/audit/markdown';
import { formatDurationMs, parseDuration, parseTimeOrAgo } from '../../migrator/src/audit/window';
import { UsageError } from '../../workspaces/errors';
import { loadWorkspace } from '../../workspaces/load';
import { cleanFacts, legacyObjects } from '../helpers/audit-report';
import { tmpDirPerFile } from '../helpers/tmp';

const tmpDir = tmpDirPerFile('bm-report-');
const ws = loadWorkspace('prod');
const at = new Date('2025-06-01T12:00:00Z');

describe('the verdict', () => {
  test('passes only with no problem, no fallback hit and a finished migration', () => {
    const clean = withVerdict(cleanFacts(ws, legacyObjects(3), at));
    expect(clean).toMatchObject({ passed: true, reasons: [] });
    expect(clean.summary).toBe(
      'audit of prod PASSED: 3 legacy keys (3 verified copies, 0 kept as the app wrote them), 0 fallback hits in 8d 0h, covered by 34,560 heartbeats from 3 processes, largest gap 1m 4s',
    );

    const f = cleanFacts(ws, legacyObjects(3), at);
    f.counts.problemKeys = 1;
    f.counts.byKind.missing = 1;
    f.counts.byKind['legacy-written-after-migration'] = 1;
    f.fallback.hits = 2;
    f.migrationProblems = ["the migrator's listing of the legacy bucket did not finish: rerun the migrator"];
    const failed = withVerdict(f);
    expect(failed.passed).toBe(false);
    expect(failed.reasons).toEqual([
      "the migrator's listing of the legacy bucket did not finish: rerun the migrator",
      '1 key(s) with problems (missing 1, legacy-written-after-migration 1)',
      `2 fallback hit(s) between ${f.fallback.window.start} and ${f.fallback.window.end}: the app still reads from the legacy bucket`,
    ]);
    expect(failed.summary).toMatch(/^audit of prod FAILED: the migrator's listing/);
    expect(failureReasons(failed)).toEqual(failed.reasons);
  });
});

describe('writing and reading', () => {
  test('writes JSON and Markdown whole (no temp file left), and reads the JSON back', () => {
    const dir = tmpDir();
    const facts = cleanFacts(ws, legacyObjects(2), at);
    facts.counts.problemKeys = 1;
    facts.counts.byKind['size-mismatch'] = 1;
    facts.problems = {
      total: 1,
      cap: 1000,
      listed: [
        {
          key: 'odd | key\nwith `tick`',
          kind: 'size-mismatch',
          message: 'new object is 1 bytes; its provenance records 2',
        },
      ],
    };
    const report = withVerdict(facts);
    const files = writeAuditReport(path.join(dir, 'reports', auditReportName(at)), report);
    expect(fs.readdirSync(path.join(dir, 'reports')).sort()).toEqual([
      'audit-20250601T120000.000Z.json',
      'audit-20250601T120000.000Z.md',
    ]);
    expect(readAuditReport(files.json)).toEqual(report);
    const md = fs.readFileSync(files.markdown, 'utf8');
    expect(md).toMatch(/^# Audit of prod: FAILED\n/);
    expect(md).toContain('## Why it failed\n\n- 1 key(s) with problems (size-mismatch 1)');
    expect(md).toContain(
      '| `` odd \\| key\\u000awith `tick` `` | size-mismatch | new object is 1 bytes; its provenance records 2 |',
    );
    expect(md).toContain(`| legacy listing digest | \`${report.legacyListing.digest}\` (2 objects, 2001 bytes) |`);
    expect(md).toContain('0 `store.fallback_hit` event(s) from');
    expect(md).toContain('## Heartbeats: how much of the window the log covers');
    expect(md).toContain('| heartbeats | 34,560 from 3 process(es) (dual-read 34,560) |');
    expect(md).toMatch(/\| largest gap \| 1m 4s \(\S+ to \S+\); allowed 15m 0s \|/);
  });

  test('a file that is not JSON or not an audit report is refused with one line', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'a.json'), '{');
    fs.writeFileSync(
      path.join(dir, 'b.json'),
      JSON.stringify({ ...withVerdict(cleanFacts(ws, [], at)), legacyListing: { digest: 'md5:x' } }),
    );
    expect(() => readAuditReport(path.join(dir, 'a.json'))).toThrow(AuditReportError);
    expect(() => readAuditReport(path.join(dir, 'a.json'))).toThrow(/is not valid JSON/);
    expect(() => readAuditReport(path.join(dir, 'b.json'))).toThrow(
      /is not a bucketmove audit report \(legacyListing\.digest: /,
    );
  });

  test('a report of format 1 (before the heartbeats were measured) is refused, saying why', () => {
    const dir = tmpDir();
    const { coverage: _c, ...fallback } = cleanFacts(ws, [], at).fallback;
    fs.writeFileSync(
      path.join(dir, 'old.json'),
      JSON.stringify({ ...withVerdict(cleanFacts(ws, [], at)), formatVersion: 1, fallback }),
    );
    expect(() => readAuditReport(path.join(dir, 'old.json'))).toThrow(
      `audit report ${path.join(dir, 'old.json')} is of format 1, from before the audit measured how much of its window the app's heartbeats cover; audit again with this version`,
    );
  });

  test('the newest report is the one with the latest time in its name', () => {
    const dir = tmpDir();
    for (const t of ['2025-06-01T09:00:00.000Z', '2025-06-01T12:00:00.001Z', '2025-06-01T12:00:00.000Z'])
      fs.writeFileSync(path.join(dir, `${auditReportName(new Date(t))}.json`), '{}');
    fs.writeFileSync(path.join(dir, 'migrate-20990101T000000Z.json'), '{}');
    fs.writeFileSync(path.join(dir, 'audit-notes.json'), '{}');
    expect(path.basename(newestAuditReport(dir)!)).toBe('audit-20250601T120000.001Z.json');
    expect(newestAuditReport(path.join(dir, 'none'))).toBeUndefined();
  });

  test('mdCode keeps any key readable in a table cell', () => {
    expect(mdCode('a|b')).toBe('`a\\|b`');
    expect(mdCode('a`b')).toBe('`` a`b ``');
    expect(mdCode('tab\there')).toBe('`tab\\u0009here`');
  });
});

describe('durations and times', () => {
  const now = new Date('2025-06-08T00:00:00Z');
  test('durations in s, m, h, d, w', () => {
    expect(parseDuration('90s', '--x')).toBe(90_000);
    expect(parseDuration('1.5h', '--x')).toBe(5_400_000);
    expect(parseDuration('7d', '--x')).toBe(7 * 86_400_000);
    expect(parseDuration('2W', '--x')).toBe(14 * 86_400_000);
    for (const bad of ['7', 'd', '7 days', '-1d', '0h', ''])
      expect(() => parseDuration(bad, '--max-age')).toThrow(UsageError);
    expect(() => parseDuration('7 days', '--max-age')).toThrow(
      '--max-age must be a duration such as 30m, 12h, 7d or 2w (got "7 days")',
    );
  });
  test('a time is ISO 8601 with a zone, or a duration back from now', () => {
    expect(parseTimeOrAgo('7d', '--since', now).toISOString()).toBe('2025-06-01T00:00:00.000Z');
    expect(parseTimeOrAgo('2025-06-01T09:00:00+02:00', '--since', now).toISOString()).toBe('2025-06-01T07:00:00.000Z');
    expect(() => parseTimeOrAgo('2025-06-01', '--since', now)).toThrow(/--since must be an ISO 8601 time with a zone/);
    expect(() => parseTimeOrAgo('2025-13-45T00:00:00Z', '--since', now)).toThrow(/is not a valid time/);
  });
  test('for people', () => {
    expect(formatDurationMs(7 * 86_400_000 + 3_600_000)).toBe('7d 1h');
    expect(formatDurationMs(5_400_000)).toBe('1h 30m');
    expect(formatDurationMs(61_000)).toBe('1m 1s');
    expect(formatDurationMs(4_000)).toBe('4s');
  });
});
