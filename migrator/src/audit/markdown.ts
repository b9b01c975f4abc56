/** The audit's Markdown summary: the verdict first, then the figures a person checks, then the listed findings. */
import { formatCount } from '../../../workspaces/audit-verdict';
import type { AuditReport } from './report';
import { formatDurationMs } from './window';

/** A value as inline code in a table cell: control characters escaped, pipes escaped, backticks fenced. */
export function mdCode(text: string): string {
  const safe = text
    // eslint-disable-next-line no-control-regex -- control characters are what this escapes
    .replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\|/g, '\\|');
  const fence = safe.includes('`') ? '`` ' : '`';
  return `${fence}${safe}${fence.split('').reverse().join('')}`;
}

function cell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|');
}

function lastRunText(run: AuditReport['checkpoint']['lastRun']): string {
  return run
    ? `#${run.id} started ${run.startedAt}${run.finishedAt ? `, finished ${run.finishedAt}` : ', never finished'}`
    : 'none';
}

export function renderMarkdown(r: AuditReport, jsonName: string): string {
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  line(`# Audit of ${r.env}: ${r.passed ? 'PASSED' : 'FAILED'}`);
  line();
  line(r.summary);
  line();
  if (!r.passed) {
    line('## Why it failed');
    line();
    for (const reason of r.reasons) line(`- ${reason}`);
    line();
  }
  line('## What was audited');
  line();
  line('| | |');
  line('|---|---|');
  line(`| env | ${r.env} (${r.target}) |`);
  line(
    `| legacy bucket | ${mdCode(r.legacy.bucket)} in ${r.legacy.account}${r.legacy.endpoint ? ` at ${r.legacy.endpoint}` : ''} |`,
  );
  line(
    `| new bucket | ${mdCode(r.primary.bucket)} in ${r.primary.account}${r.primary.endpoint ? ` at ${r.primary.endpoint}` : ''} |`,
  );
  line(`| time | ${r.startedAt} to ${r.finishedAt} (${r.seconds.toFixed(1)} s) |`);
  const mode = r.options.deep
    ? 'deep: every migrated key re-read on both sides'
    : r.options.sample
      ? `sample: ${r.options.sample} migrated keys re-read on both sides (seed ${r.options.sampleSeed})`
      : 'metadata: HEAD of every key, provenance and checkpoint compared';
  line(`| mode | ${mode} |`);
  const cp = r.checkpoint;
  if (cp.shards) {
    line(
      `| checkpoints | ${cp.shards.length} shards (the migration ran as ${cp.shards.length} tasks, \`--shard 1/${cp.shards.length}\` to \`${cp.shards.length}/${cp.shards.length}\`): ${cp.runs} run(s) in all; listing ${cp.listingComplete ? 'complete in every shard' : 'NOT complete in every shard'}; each below |`,
    );
  } else {
    line(
      `| checkpoint | ${mdCode(cp.path)}: ${cp.runs} run(s), last ${lastRunText(cp.lastRun)}; listing ${cp.listingComplete ? 'complete' : 'NOT complete'} |`,
    );
  }
  if (cp.source) line(`| key source | ${mdCode(cp.source)} |`);
  line(
    `| legacy listing digest | ${mdCode(r.legacyListing.digest)} (${r.legacyListing.objects} objects, ${r.legacyListing.bytes} bytes) |`,
  );
  const skipped = r.newListing.notAudited;
  if (skipped)
    line(
      `| not audited in the new bucket | keys under ${mdCode(skipped.prefix)}: ${cell(skipped.why)} (${skipped.objects} objects, ${skipped.bytes} bytes) |`,
    );
  const probes = r.newListing.probeLeftovers;
  if (probes)
    line(
      `| not audited in the new bucket | keys under ${mdCode(probes.prefix)}: the migrator's conditional-write probe, left by a killed run (${probes.objects} objects, ${probes.bytes} bytes) |`,
    );
  line();
  if (cp.shards) {
    line('## Shards');
    line();
    line('| shard | checkpoint | runs | last run | listing | keys |');
    line('|---|---|---:|---|---|---:|');
    for (const s of cp.shards) {
      const keys = Object.values(s.states).reduce((n, c) => n + c, 0);
      line(
        `| ${s.shard} | ${mdCode(s.path)} | ${s.runs} | ${lastRunText(s.lastRun)} | ${s.listingComplete ? 'complete' : 'NOT complete'} | ${keys} |`,
      );
    }
    line();
  }
  line('## Counts');
  line();
  line('| | keys |');
  line('|---|---:|');
  line(`| legacy keys | ${r.counts.legacyKeys} |`);
  line(`| verified copies | ${r.counts.verified} |`);
  line(`| kept as the app wrote them | ${r.counts.appVersion} |`);
  line(`| keys with problems | ${r.counts.problemKeys} |`);
  line(`| re-read and compared (deep) | ${r.counts.deepCompared} |`);
  line(`| only in the new bucket (the app's own) | ${r.counts.onlyInNew} |`);
  line(`| only in the checkpoint (deleted from legacy since) | ${r.counts.checkpointOnly} |`);
  for (const [kind, n] of Object.entries(r.counts.byKind)) if (n > 0) line(`| finding: ${kind} | ${n} |`);
  line();
  line('## Fallback hits');
  line();
  const f = r.fallback;
  line(
    `${f.hits} \`${f.event}\` event(s) from ${f.window.start} to ${f.window.end} (${formatDurationMs(f.window.seconds * 1000)}), ${f.source.kind === 'cloudwatch' ? `CloudWatch Logs Insights on log group ${mdCode(f.source.location)} (${f.source.region})` : `log file ${mdCode(f.source.location)}`}.`,
  );
  if (f.hits)
    line(
      `First ${f.firstHitAt ?? '?'}, last ${f.lastHitAt ?? '?'}${f.distinctKeys !== undefined ? `, ${f.distinctKeys} distinct keys` : ''}. Keys hit: ${f.sampleKeys.map(mdCode).join(', ') || '-'}.`,
    );
  if (f.lines) line(`Lines read ${f.lines.read}; hits without a readable time ${f.lines.untimedHits} (counted).`);
  if (f.query) {
    line();
    line('```');
    line(f.query);
    line('```');
  }
  line();
  const c = f.coverage;
  line('## Heartbeats: how much of the window the log covers');
  line();
  line('| | |');
  line('|---|---|');
  line(
    `| heartbeats | ${formatCount(c.heartbeats)} from ${formatCount(c.processes)} process(es)${
      Object.keys(c.byMode).length
        ? ` (${Object.entries(c.byMode)
            .map(([m, n]) => `${m} ${formatCount(n)}`)
            .join(', ')})`
        : ''
    } |`,
  );
  line(
    `| covered | ${formatDurationMs(c.coveredSeconds * 1000)} of ${formatDurationMs(f.window.seconds * 1000)}${c.firstCoveredAt ? `, from ${c.firstCoveredAt} to ${c.lastCoveredAt}` : ''} |`,
  );
  line(
    `| largest gap | ${formatDurationMs(c.largestGap.seconds * 1000)} (${c.largestGap.start} to ${c.largestGap.end}); allowed ${formatDurationMs(c.maxGapSeconds * 1000)} |`,
  );
  line(`| fallback hits the heartbeats counted | ${formatCount(c.fallbackHits)} |`);
  if (c.resolutionSeconds)
    line(`| resolution | ${formatDurationMs(c.resolutionSeconds * 1000)} bins (a shorter gap may not show) |`);
  if (f.coverageQuery) {
    line();
    line('```');
    line(f.coverageQuery);
    line('```');
  }
  line();
  const listFindings = (title: string, block: AuditReport['problems']) => {
    if (!block.total) return;
    line(
      `## ${title} (${block.total}${block.listed.length < block.total ? `, first ${block.listed.length} listed` : ''})`,
    );
    line();
    line('| key | finding | detail |');
    line('|---|---|---|');
    for (const x of block.listed) line(`| ${mdCode(x.key)} | ${x.kind} | ${cell(x.message)} |`);
    line();
  };
  listFindings('Problems', r.problems);
  if (r.migrationProblems.length) {
    line('## Migration');
    line();
    for (const p of r.migrationProblems) line(`- ${p}`);
    line();
  }
  listFindings('Notices', r.notices);
  line(`The full record is ${mdCode(jsonName)}.`);
  return `${out.join('\n')}\n`;
}
