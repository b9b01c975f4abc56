/**
 * `npm run seed-legacy -- --env local --count N --size S [--odd-keys] [--seed X] [--concurrency C] [--prefix P]
 * [--manifest FILE]`: fills the legacy bucket of an S3-compatible workspace with encrypted photos, as the legacy app
 * wrote them. Credentials: the legacy side's static keys (LEGACY_AWS_ACCESS_KEY_ID / LEGACY_AWS_SECRET_ACCESS_KEY; on
 * the rig, its legacy app user by default). Codec keys: the workspace's codec.keys (local: LEGACY_FERNET_KEYS).
 */
import { randomBytes } from 'crypto';
import * as path from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadWorkspace } from '../../../workspaces/load';
import { ConfigError, UsageError } from '../../../workspaces/errors';
import { createSideClient, preflight } from '../aws/clients';
import { EXIT, isEntry, parseStrict, runCli } from '../cli/run-cli';
import { loadCodec } from '../aws/codec-keys';
import { writeManifest } from './manifest';
import { planObjects } from './plan';
import { seedLegacy } from './seeder';
import { maxSize, parseSizeSpec } from './sizes';
import { formatBytes, MIB } from '../../../workspaces/units';

export function parseSeedArgs(argv: string[]) {
  return parseStrict(
    yargs(argv)
      .scriptName('npm run seed-legacy --')
      .usage(
        '$0 --env <env> --count <n> [options]\n\nWrites encrypted photos into the legacy bucket of an S3-compatible workspace (the local rig), as the legacy app did.',
      )
      .option('env', {
        type: 'string',
        demandOption: true,
        describe: 'the workspace (workspaces/<env>.json); must target an S3-compatible server',
      })
      .option('count', {
        type: 'number',
        demandOption: true,
        describe: 'how many photos to write (odd keys come on top)',
      })
      .option('size', {
        type: 'string',
        default: 'photos',
        describe:
          'plaintext sizes: a size (64KiB, 1.5MiB, 0), a range drawn log-uniformly (10KiB-2MiB), or photos (97% 50 KiB-5 MiB, 3% 5-40 MiB), small (1-64 KiB), large (8-64 MiB)',
      })
      .option('odd-keys', {
        type: 'boolean',
        default: false,
        describe:
          'also write keys that break naive tools (spaces, +, %, Unicode, deep prefixes, a 1024-byte key, empty objects)',
      })
      .option('seed', {
        type: 'string',
        describe: 'the same seed gives the same keys, sizes and bytes [default: random, printed]',
      })
      .option('concurrency', { type: 'number', default: 8, describe: 'uploads in flight' })
      .option('prefix', { type: 'string', default: 'chats/', describe: 'prepended to every key' })
      .option('manifest', {
        type: 'string',
        describe: 'write a JSON manifest (key -> plaintext size and SHA-256) to this file',
      })
      .check((a) => {
        if (!Number.isInteger(a.count) || a.count < 0)
          throw new UsageError(`--count must be a whole number >= 0 (got ${a.count})`);
        if (!Number.isInteger(a.concurrency) || a.concurrency < 1 || a.concurrency > 256) {
          throw new UsageError(`--concurrency must be a whole number from 1 to 256 (got ${a.concurrency})`);
        }
        if (a.seed !== undefined && a.seed.trim() === '') throw new UsageError('--seed must not be empty');
        if (a.count === 0 && !a['odd-keys'])
          throw new UsageError('--count 0 writes nothing; give --count > 0 or --odd-keys');
        return true;
      }),
    { 0: 'seeded (and the manifest written)', 1: 'a write failed' },
  );
}

async function main(): Promise<number> {
  const args = parseSeedArgs(hideBin(process.argv));
  let size;
  try {
    size = parseSizeSpec(args.size);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const ws = loadWorkspace(args.env);
  if (ws.target !== 's3-compatible') {
    throw new ConfigError(
      `workspace ${args.env} targets AWS: seed-legacy writes test data and runs only against S3-compatible workspaces (e.g. --env local)`,
    );
  }
  if (ws.codec.type === 'fernet') {
    // A Fernet token in text form is about 4/3 of the plaintext; the codec refuses to read objects above its bound.
    const stored = Math.ceil((maxSize(size) + 73) / 3) * 4;
    if (stored > ws.codec.maxObjectBytes) {
      throw new UsageError(
        `--size ${args.size}: objects up to ${formatBytes(maxSize(size))} would be stored as up to ${formatBytes(stored)}, above the Fernet codec's maxObjectBytes (${formatBytes(ws.codec.maxObjectBytes)})`,
      );
    }
  }
  const seed = args.seed ?? randomBytes(6).toString('hex');
  let objects;
  try {
    objects = planObjects({ count: args.count, size, oddKeys: args['odd-keys'], seed, prefix: args.prefix });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const codec = await loadCodec(ws);
  const client = createSideClient(ws, 'legacy', {
    credentials: 'static',
    transport: { maxSockets: args.concurrency * 2 },
  });
  try {
    await preflight(client);
    const tty = process.stderr.isTTY;
    let done = 0;
    const result = await seedLegacy({
      client,
      codec,
      objects,
      seed,
      concurrency: args.concurrency,
      onWritten: () => {
        done += 1;
        if (tty && (done % 25 === 0 || done === objects.length))
          process.stderr.write(`\rseed-legacy: ${done}/${objects.length} objects`);
      },
    });
    if (tty) process.stderr.write('\n');
    const where = client.endpoint.url ?? `AWS ${client.endpoint.region}`;
    const sizes = result.entries.map((e) => e.size).sort((a, b) => a - b);
    const odd = result.entries.filter((e) => e.odd).length;
    const mibs = result.storedBytes / MIB / result.seconds;
    process.stdout.write(
      `seeded ${result.entries.length} objects into ${ws.legacy.bucket} at ${where} (${codec.name}): ${formatBytes(result.plaintextBytes)} plaintext, ` +
        `${formatBytes(result.storedBytes)} stored, in ${result.seconds.toFixed(1)} s (${(result.entries.length / result.seconds).toFixed(1)} objects/s, ${mibs.toFixed(1)} MiB/s)\n` +
        `  sizes (${size.label}): min ${formatBytes(sizes[0] ?? 0)}, median ${formatBytes(sizes[Math.floor(sizes.length / 2)] ?? 0)}, max ${formatBytes(sizes[sizes.length - 1] ?? 0)}; ` +
        `${odd} odd keys; seed "${seed}" (the same --seed gives the same keys and bytes)\n`,
    );
    if (args.manifest) {
      writeManifest(args.manifest, {
        version: 1,
        bucket: ws.legacy.bucket,
        endpoint: client.endpoint.url,
        codec: codec.name,
        seed,
        createdAt: new Date().toISOString(),
        objects: result.entries,
      });
      const rel = path.relative(process.cwd(), path.resolve(args.manifest));
      process.stdout.write(`  manifest: ${rel && !rel.startsWith('..') ? rel : path.resolve(args.manifest)}\n`);
    }
    return EXIT.ok;
  } finally {
    client.destroy();
  }
}

if (isEntry(module)) runCli('seed-legacy', main);
