/**
 * One Batch Operations task through the built function bundle, in a process of its own, as Lambda runs it: spawned by
 * bench/memory.ts with the V8 limits Lambda's Node.js bootstrap sets for the function's memory. It requires the bundle
 * (argv[2]), invokes its `handler` once on a small warm-up key (argv[3]: the container is built, the clients and the
 * codec made, as on a warm function), resets the process's peak RSS to its current RSS (/proc/self/clear_refs, 5),
 * then invokes it on the key measured (argv[4]) and prints one JSON line: the baseline RSS before that task, the peak
 * RSS during it, and the task's result. The environment carries BUCKETMOVE_WORKSPACE, the codec's key variable and
 * BUCKETMOVE_RIG_STATE, as the function's configuration would.
 */
import * as fs from 'fs';

type Handler = (
  event: unknown,
  context: { getRemainingTimeInMillis(): number },
) => Promise<{ results: { resultCode: string; resultString: string }[] }>;

const status = (field: 'VmRSS' | 'VmHWM'): number =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

function event(bucket: string, key: string) {
  return {
    invocationSchemaVersion: '2.0',
    invocationId: 'bench',
    job: { id: 'bench-memory', userArguments: { env: 'local' } },
    tasks: [{ taskId: 'dGFzaw==', s3Key: encodeURIComponent(key), s3VersionId: null, s3Bucket: bucket }],
  };
}

async function main(): Promise<void> {
  const [bundle, warmUpKey, key] = process.argv.slice(2);
  const bucket = process.env.BENCH_LEGACY_BUCKET!;
  // The built bundle, by its path at run time (a CommonJS file, as Lambda loads it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(bundle) as { handler: Handler };
  const context = { getRemainingTimeInMillis: () => 900_000 };
  const warm = await handler(event(bucket, warmUpKey), context);
  if (warm.results[0].resultCode !== 'Succeeded')
    throw new Error(`the warm-up task failed: ${warm.results[0].resultString}`);
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const baseline = status('VmRSS');
  const res = await handler(event(bucket, key), context);
  const peak = status('VmHWM');
  process.stdout.write(
    `${JSON.stringify({ baseline, peak, resultCode: res.results[0].resultCode, result: res.results[0].resultString })}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`lambda-task: ${(err as Error).message}\n`);
  process.exit(1);
});
