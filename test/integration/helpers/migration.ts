/**
 * Helpers for migrator tests on the rig: a workspace file of their own (a temp workspaces dir), legacy objects under a
 * prefix only this test uses, the migrator as a library call or as the CLI in a child process, and reads of the result.
 */
import { ChildProcess, spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { LoadedWorkspace } from '../../../workspaces/load';
import {
  migrateWorkspace,
  type MigrateOptions,
  type MigrateOutcome,
} from '../../../migrator/src/migrate/migrate-workspace';
import { generateFernetKey } from '../../../migrator/src/codec/fernet';
import { createSideClient } from '../../../migrator/src/aws/clients';
import { createCodec } from '../../../migrator/src/codec';
import { planObjects } from '../../../migrator/src/seed/plan';
import { seedLegacy } from '../../../migrator/src/seed/seeder';
import { parseSizeSpec } from '../../../migrator/src/seed/sizes';
import type { CliResult } from '../../../migrator/rig/aws-cli';
import type { Expected } from './load-client';
import { awsCliAs, rigState, s3As, testWorkspace } from './rig';
import { httpStatusOf } from '../../../migrator/src/aws/errors';

export const REPO = path.resolve(__dirname, '../../..');
/** The Fernet key the legacy objects of these tests are encrypted with (throwaway). */
export const FERNET_KEY = generateFernetKey();
process.env.LEGACY_FERNET_KEYS ??= FERNET_KEY;
export const fernetKey = (): string => process.env.LEGACY_FERNET_KEYS!;

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A workspace like local.json (the run's rig) written to `dir/local.json`, so the CLI can load it by env name. */
export function writeWorkspace(dir: string, patch: (ws: LoadedWorkspace) => void = () => {}): LoadedWorkspace {
  const ws = testWorkspace(patch);
  const { file: _file, ...plain } = ws;
  fs.writeFileSync(path.join(dir, 'local.json'), JSON.stringify(plain, null, 2));
  return { ...ws, file: path.join(dir, 'local.json') };
}

/** Puts stored (already encrypted) bytes into the legacy bucket as the legacy app's user. */
export async function putLegacy(
  key: string,
  stored: Buffer,
  contentType = 'image/jpeg',
  metadata: Record<string, string> = {},
): Promise<void> {
  await s3As('legacyApp').send(
    new PutObjectCommand({
      Bucket: rigState().buckets.legacy,
      Key: key,
      Body: stored,
      ContentType: contentType,
      Metadata: metadata,
    }),
  );
}

export async function putNewAsApp(key: string, body: Buffer): Promise<void> {
  await s3As('primaryApp').send(
    new PutObjectCommand({ Bucket: rigState().buckets.primary, Key: key, Body: body, ContentType: 'image/jpeg' }),
  );
}

export async function getNew(
  key: string,
): Promise<{ body: Buffer; metadata: Record<string, string>; contentType?: string } | undefined> {
  try {
    const out = await s3As('primaryApp').send(new GetObjectCommand({ Bucket: rigState().buckets.primary, Key: key }));
    return {
      body: Buffer.from(await out.Body!.transformToByteArray()),
      metadata: out.Metadata ?? {},
      contentType: out.ContentType,
    };
  } catch (err) {
    if (httpStatusOf(err) === 404) return undefined;
    throw err;
  }
}

/** `aws s3api <op> --bucket <the new bucket> --key <key> ...more`: /usr/bin/aws as the app, an independent client. */
export function awsCliOnNew(op: string, key: string, ...more: string[]): Promise<CliResult> {
  return awsCliAs('primaryApp', ['s3api', op, '--bucket', rigState().buckets.primary, '--key', key, ...more]);
}

/**
 * A key of the new bucket as an independent client reads it (awsCliOnNew's get-object into `dir`/out): the CLI's exit
 * code; on success, the bytes and the CLI's answer (Metadata, ContentLength, ...).
 */
export async function getNewWithAwsCli(
  key: string,
  dir: string,
): Promise<{ code: number; body?: Buffer; answer?: { Metadata?: Record<string, string> } }> {
  const file = path.join(dir, 'out');
  const get = await awsCliOnNew('get-object', key, file);
  if (get.code !== 0) return { code: get.code };
  return {
    code: 0,
    body: fs.readFileSync(file),
    answer: JSON.parse(get.stdout) as { Metadata?: Record<string, string> },
  };
}

export async function headNew(key: string) {
  return s3As('primaryApp').send(new HeadObjectCommand({ Bucket: rigState().buckets.primary, Key: key }));
}

/** Every key under a prefix in a rig bucket, in order. */
export function listKeys(side: 'legacy' | 'primary', prefix: string): Promise<string[]> {
  return listBucketKeys(s3As(side === 'legacy' ? 'legacyApp' : 'primaryApp'), rigState().buckets[side], prefix);
}

/** Every key under a prefix in any bucket, in order. */
export async function listBucketKeys(client: S3Client, bucket: string, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of out.Contents ?? []) keys.push(o.Key!);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function multipartUploadsUnder(prefix: string): Promise<number> {
  const out = await s3As('primaryAdmin').send(
    new ListMultipartUploadsCommand({ Bucket: rigState().buckets.primary, Prefix: prefix }),
  );
  return out.Uploads?.length ?? 0;
}

/** The migrator as a library call, with a checkpoint and a report in `dir`. */
export function migrateLib(
  ws: LoadedWorkspace,
  dir: string,
  prefix: string,
  o: Partial<MigrateOptions> = {},
): Promise<MigrateOutcome> {
  return migrateWorkspace(ws, {
    prefix,
    checkpoint: path.join(dir, 'checkpoint.sqlite'),
    report: path.join(dir, 'report'),
    concurrency: 8,
    ...o,
  });
}

export interface CliRun {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** `npm run migrate -- ...` as a child process (ts-node, no npm wrapper so signals reach it), in `cwd`. */
export function migrateCli(
  args: string[],
  o: { workspacesDir?: string; cwd: string; env?: NodeJS.ProcessEnv },
): CliRun {
  const child = spawn(
    process.execPath,
    [require.resolve('ts-node/dist/bin.js'), path.join(REPO, 'migrator/src/cli/migrate.ts'), ...args],
    {
      cwd: o.cwd,
      env: {
        ...process.env,
        TS_NODE_PROJECT: path.join(REPO, 'tsconfig.json'),
        ...(o.workspacesDir ? { BUCKETMOVE_WORKSPACES_DIR: o.workspacesDir } : {}),
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/**
 * The legacy bucket as the legacy app left it, for a load test: `count` Fernet photos of 1-48 KiB under `prefix`
 * (the run's key), written as the legacy app's user; their plaintext's hash and size by key.
 */
export async function seedLoadPhotos(seed: string, count: number, prefix: string): Promise<Map<string, Expected>> {
  const ws = testWorkspace((w) => {
    w.migration.credentials = 'static';
  });
  const codec = createCodec(ws.codec, [fernetKey()], path.dirname(ws.file));
  const objects = planObjects({ count, size: parseSizeSpec('1KiB-48KiB'), oddKeys: false, seed, prefix });
  const writer = createSideClient(ws, 'legacy', { env: {} });
  try {
    const { entries } = await seedLegacy({ client: writer, codec, objects, seed, concurrency: 8 });
    return new Map<string, Expected>(entries.map((e) => [e.key, { sha256: e.sha256, size: e.size }]));
  } finally {
    writer.destroy();
  }
}
