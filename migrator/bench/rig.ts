/**
 * The local S3 rig's start time and memory: starts and stops a rig ROUNDS times (its own temp dirs and state files;
 * a developer's rig is not touched) and reports the time from nothing to the accounts being ready and the daemons' RSS
 * right after start and after a small workload. Run: npm run bench:rig
 */
import * as fs from 'fs';
import * as path from 'path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { loadWorkspace } from '../../workspaces/load';
import { createS3Client } from '../src/aws/clients';
import { rssBytes } from '../rig/cluster';
import { cephVersion } from '../rig/install';
import { startRig, stopRig } from '../rig/rig';
import { benchTempDir, gitRevision, machineLine, onInterrupt, runBench, writeSection } from './benchmarks-md';
import { MIB } from '../../workspaces/units';

const ROUNDS = Number(process.env.BENCH_RIG_ROUNDS ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const ws = loadWorkspace('local');
  const starts: number[] = [];
  const idle: number[] = [];
  const loaded: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const dir = benchTempDir('bucketmove-bench-rig-');
    const statePath = path.join(dir, 'state.json');
    onInterrupt(() => stopRig(statePath));
    try {
      const { state } = await startRig({ workspace: ws, statePath, dir, ownerPid: process.pid });
      starts.push(state.measured!.startSeconds);
      idle.push(state.measured!.rssBytes);
      // A small workload: 200 objects of 64 KiB through the legacy app user.
      const app = state.principals.legacyApp;
      const s3 = createS3Client({
        endpoint: state.endpoint,
        region: state.region,
        s3Compatible: true,
        credentials: { accessKeyId: app.accessKeyId, secretAccessKey: app.secretAccessKey },
      });
      const body = Buffer.alloc(64 * 1024, 7);
      for (let k = 0; k < 200; k += 20) {
        await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            s3.send(new PutObjectCommand({ Bucket: state.buckets.legacy, Key: `bench/${k + j}`, Body: body })),
          ),
        );
      }
      s3.destroy();
      loaded.push(
        rssBytes(
          Object.entries(state.pids!)
            .filter(([r]) => r !== 'watchdog')
            .map(([, p]) => p),
        ),
      );
      console.log(
        `round ${i + 1}: ready in ${state.measured!.startSeconds.toFixed(2)} s, RSS ${(state.measured!.rssBytes / MIB).toFixed(0)} MiB idle, ${(loaded[i] / MIB).toFixed(0)} MiB after 200 PUTs`,
      );
    } finally {
      await stopRig(statePath);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const s = (xs: number[], f: (x: number) => string) =>
    `${f(median(xs))} (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;
  writeSection(
    'rig',
    [
      '## Local S3 rig',
      '',
      `Command: \`npm run bench:rig\` (${ROUNDS} starts of \`startRig\` with workspaces/local.json: Ceph ${cephVersion() ?? '?'} mon + memstore osd + radosgw, then the`,
      'two tenants, five users, two buckets and two roles; stopped with SIGKILL after each). Machine: ' +
        machineLine() +
        '.',
      `Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
      '',
      '| figure | median (min-max) |',
      '|---|---:|',
      `| start: nothing to accounts ready | ${s(starts, (x) => `${x.toFixed(2)} s`)} |`,
      `| RSS of mon+osd+rgw, idle after start | ${s(idle, (x) => `${(x / MIB).toFixed(0)} MiB`)} |`,
      `| RSS after 200 PUTs of 64 KiB | ${s(loaded, (x) => `${(x / MIB).toFixed(0)} MiB`)} |`,
      '',
      'About half the start is Ceph (about 0.3 s to a monitor that answers, 0.6 s more until radosgw answers HTTP) and half',
      'the accounts (radosgw-admin for the users; S3, IAM and STS calls for buckets, policies, roles and the ExternalId',
      'probe). `npm run rig -- start` adds about 0.9 s of Node and ts-node start-up. Memstore keeps objects in RAM, so RSS',
      'grows with what is stored.',
    ].join('\n'),
  );
}

runBench('rig', main, {
  describe:
    "The local S3 rig's start time (nothing to accounts ready) and memory, over several starts of rigs of its own",
  env: [['BENCH_RIG_ROUNDS', 'starts (5)']],
});
