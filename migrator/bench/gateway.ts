/**
 * What the S3-API gateway costs: latency (p50, p99) and throughput of the same requests sent directly to a local RGW
 * rig (its own, started and stopped here) and through the gateway (the built `npm run gateway`, a child process, in
 * dual-read) in front of it: reads of migrated photos (the new bucket), fallback reads (legacy, Fernet, decrypted by
 * the gateway; directly: the raw ciphertext GET, no decryption) and uploads. Both clients are the same SDK client
 * (migrator/src/aws/clients), only the endpoint and keys differ.
 * Run: npm run bench:gateway (BENCH_GATEWAY_REQUESTS per case, default 300; BENCH_GATEWAY_KIB photo size, default 64)
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadWorkspace, repoRoot } from '../../workspaces/load';
import { createS3Client } from '../src/aws/clients';
import { createCodec } from '../src/codec';
import { generateFernetKey } from '../src/codec/fernet';
import { runContextLines, runBench, writeSection } from './benchmarks-md';
import { rigClient, withBenchRig } from './bench-rig';

const REQUESTS = Number(process.env.BENCH_GATEWAY_REQUESTS ?? 300);
const SIZE = Number(process.env.BENCH_GATEWAY_KIB ?? 64) * 1024;
const CONCURRENCY = 8;
const GATEWAY_JS = path.join(repoRoot(), 'dist/migrator/src/gateway/main.js');
const KEYS = 50;

interface Case {
  readonly name: string;
  readonly run: (client: S3Client, i: number) => Promise<void>;
}

async function drain(out: { Body?: unknown }): Promise<void> {
  await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Sequential latencies (after a warm-up), then throughput with CONCURRENCY requests in flight. */
async function measure(client: S3Client, c: Case): Promise<{ p50: number; p99: number; perSecond: number }> {
  for (let i = 0; i < 20; i++) await c.run(client, i);
  const ms: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t = process.hrtime.bigint();
    await c.run(client, i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  let next = 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) await c.run(client, next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), perSecond: REQUESTS / seconds };
}

function startGateway(env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [GATEWAY_JS, '--env', 'local', '--port', '0', '--admin-port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"gateway.listening"'));
      if (line) {
        out = ''; // the rest of the log (a line per request) is not kept
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({ url: (JSON.parse(line) as { url: string }).url, stop: () => (child.kill('SIGTERM'), exited) });
      }
    });
    void exited.then(() => reject(new Error(`the gateway exited before listening: ${err.trim().split('\n')[0]}`)));
  });
}

async function main(): Promise<void> {
  if (!fs.existsSync(GATEWAY_JS))
    throw new Error(`${GATEWAY_JS} is missing: run it as npm run bench:gateway (which builds first)`);
  const load = os.loadavg()[0];
  const rows: string[] = [];
  await withBenchRig('bm-bench-gateway-', async ({ state }) => {
    const keys = (who: 'primaryAdmin' | 'legacyAdmin') => ({
      accessKeyId: state.principals[who].accessKeyId,
      secretAccessKey: state.principals[who].secretAccessKey,
    });
    const direct = { primary: rigClient(state, 'primaryAdmin'), legacy: rigClient(state, 'legacyAdmin') };
    const newBucket = 'bench-gateway-new';
    const legacyBucket = 'bench-gateway-old';
    await direct.primary.send(new CreateBucketCommand({ Bucket: newBucket }));
    await direct.legacy.send(new CreateBucketCommand({ Bucket: legacyBucket }));
    const ws = loadWorkspace('local');
    const fernetKey = generateFernetKey();
    const codec = createCodec(ws.codec, [fernetKey], path.dirname(ws.file));
    const photo = randomBytes(SIZE);
    for (let i = 0; i < KEYS; i++) {
      await direct.primary.send(
        new PutObjectCommand({ Bucket: newBucket, Key: `migrated/${i}.jpg`, Body: photo, ContentType: 'image/jpeg' }),
      );
      const stored = codec.encrypt(photo, { key: `legacy/${i}.jpg`, size: photo.length }) as Buffer;
      await direct.legacy.send(
        new PutObjectCommand({ Bucket: legacyBucket, Key: `legacy/${i}.jpg`, Body: stored, ContentType: 'image/jpeg' }),
      );
    }
    const app = { accessKeyId: 'AKIDBENCHGATEWAY', secretAccessKey: randomBytes(24).toString('base64') };
    const gw = await startGateway({
      PATH: process.env.PATH,
      PHOTO_STORE_MODE: 'dual-read',
      AWS_REGION: state.region,
      PHOTO_STORE_BUCKET: newBucket,
      PHOTO_STORE_LEGACY_BUCKET: legacyBucket,
      PHOTO_STORE_ENDPOINT: state.endpoint,
      PHOTO_STORE_LEGACY_ENDPOINT: state.endpoint,
      AWS_ACCESS_KEY_ID: keys('primaryAdmin').accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys('primaryAdmin').secretAccessKey,
      LEGACY_AWS_ACCESS_KEY_ID: keys('legacyAdmin').accessKeyId,
      LEGACY_AWS_SECRET_ACCESS_KEY: keys('legacyAdmin').secretAccessKey,
      LEGACY_FERNET_KEYS: fernetKey,
      BUCKETMOVE_GATEWAY_ACCESS_KEY_ID: app.accessKeyId,
      BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY: app.secretAccessKey,
    });
    const through = createS3Client({ endpoint: gw.url, region: state.region, s3Compatible: true, credentials: app });
    try {
      const get =
        (bucket: string, prefix: string): Case['run'] =>
        async (c, i) =>
          drain(await c.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/${i % KEYS}.jpg` })));
      const put: Case['run'] = async (c, i) =>
        void (await c.send(
          new PutObjectCommand({ Bucket: newBucket, Key: `uploads/${i}.jpg`, Body: photo, ContentType: 'image/jpeg' }),
        ));
      const cases: { name: string; direct: [S3Client, Case['run']]; gateway: Case['run'] }[] = [
        {
          name: 'read a migrated photo (new bucket)',
          direct: [direct.primary, get(newBucket, 'migrated')],
          gateway: get(newBucket, 'migrated'),
        },
        {
          name: 'fallback read (legacy; direct: ciphertext, no decryption)',
          direct: [direct.legacy, get(legacyBucket, 'legacy')],
          gateway: get(newBucket, 'legacy'),
        },
        { name: 'upload (PutObject)', direct: [direct.primary, put], gateway: put },
      ];
      for (const c of cases) {
        const d = await measure(c.direct[0], { name: c.name, run: c.direct[1] });
        const g = await measure(through, { name: c.name, run: c.gateway });
        const f = (n: number) => n.toFixed(1);
        rows.push(
          `| ${c.name} | ${f(d.p50)} / ${f(d.p99)} | ${f(g.p50)} / ${f(g.p99)} | ${d.perSecond.toFixed(0)} | ${g.perSecond.toFixed(0)} |`,
        );
        process.stderr.write(`${rows[rows.length - 1]}\n`);
      }
    } finally {
      through.destroy();
      await gw.stop();
      direct.primary.destroy();
      direct.legacy.destroy();
    }
  });
  writeSection(
    'gateway',
    [
      '## The S3-API gateway (`npm run bench:gateway`)',
      '',
      `${REQUESTS} requests per case on ${SIZE / 1024} KiB photos, on a local RGW rig: latency sequential (after 20 warm-up requests), throughput with ${CONCURRENCY} in flight. The gateway runs in dual-read; "direct" is the same SDK client against the rig. A fallback read through the gateway is a 404 on the new bucket, a GET on legacy and a Fernet decryption; its direct column is the raw ciphertext GET alone.`,
      '',
      ...runContextLines(load),
      '',
      '| case | direct p50 / p99 (ms) | gateway p50 / p99 (ms) | direct req/s | gateway req/s |',
      '|---|---|---|---|---|',
      ...rows,
    ].join('\n'),
  );
}

runBench('gateway', main, {
  describe:
    'Latency (p50/p99) and throughput through the S3-API gateway against direct access to the rig, for migrated reads, fallback reads and uploads, on a local rig of its own',
  env: [
    ['BENCH_GATEWAY_REQUESTS', 'requests per case (300)'],
    ['BENCH_GATEWAY_KIB', 'object size, KiB (64)'],
  ],
});
