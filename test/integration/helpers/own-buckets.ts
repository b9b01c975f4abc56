/**
 * A migration of its own for a test: a fresh legacy bucket (legacy tenant) and a fresh new bucket (primary tenant),
 * so a test can list whole buckets while other test files write to the rig's shared ones; clients signed by the two
 * tenants' admins in static mode; the seeder to fill the legacy bucket; and the real migrator (its library entry,
 * migrateWorkspace, as `npm run migrate` runs it: checkpoint, run record, report) to copy it.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { LoadedWorkspace } from '../../../workspaces/load';
import { createSideClient, type SideClient } from '../../../migrator/src/aws/clients';
import { createCodec, type Codec } from '../../../migrator/src/codec';
import { generateFernetKey } from '../../../migrator/src/codec/fernet';
import { migrateWorkspace, type MigrateOutcome } from '../../../migrator/src/migrate/migrate-workspace';
import type { PlannedObject } from '../../../migrator/src/seed/plan';
import { seedLegacy } from '../../../migrator/src/seed/seeder';
import { runningAppHeartbeats } from '../../helpers/heartbeats';
import { rigState, testWorkspace } from './rig';

let counter = 0;

export interface TestMigration {
  readonly ws: LoadedWorkspace;
  readonly legacy: SideClient;
  readonly primary: SideClient;
  readonly codec: Codec;
  /** The codec's keys (for a CLI run: LEGACY_FERNET_KEYS). */
  readonly keys: string[];
  /** The static-key environment that makes the workspace's clients the two admins. */
  readonly env: NodeJS.ProcessEnv;
  readonly checkpointFile: string;
}

/** The static keys of the two tenants' admins, in the variables a static-mode workspace reads. */
export function adminEnv(): NodeJS.ProcessEnv {
  const p = rigState().principals;
  return {
    LEGACY_AWS_ACCESS_KEY_ID: p.legacyAdmin.accessKeyId,
    LEGACY_AWS_SECRET_ACCESS_KEY: p.legacyAdmin.secretAccessKey,
    AWS_ACCESS_KEY_ID: p.primaryAdmin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: p.primaryAdmin.secretAccessKey,
  };
}

/** A bucket of a test migration as the photo store's settings name it, with an admin's static keys. */
export function storeSide(c: SideClient, who: 'legacyAdmin' | 'primaryAdmin') {
  const p = rigState().principals[who];
  return {
    bucket: c.bucket,
    region: c.endpoint.region,
    endpoint: c.endpoint.url,
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
  };
}

/** Creates two empty buckets and a workspace (static credentials) naming them. */
export async function freshMigration(tag: string, dir: string): Promise<TestMigration> {
  counter++;
  const stem = `${tag}-${process.pid}-${counter}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 50);
  const ws = testWorkspace((w) => {
    w.legacy.bucket = `${stem}-old`;
    w.primary.bucket = `${stem}-new`;
    w.migration.credentials = 'static';
  });
  const env = adminEnv();
  const legacy = createSideClient(ws, 'legacy', { env });
  const primary = createSideClient(ws, 'primary', { env });
  await legacy.s3.send(new CreateBucketCommand({ Bucket: legacy.bucket }));
  await primary.s3.send(new CreateBucketCommand({ Bucket: primary.bucket }));
  const keys = [generateFernetKey()];
  const codec = createCodec(ws.codec, keys, path.dirname(ws.file));
  return { ws, legacy, primary, codec, keys, env, checkpointFile: path.join(dir, `${stem}.sqlite`) };
}

export async function seed(m: TestMigration, objects: readonly PlannedObject[], seedName = 'audit'): Promise<void> {
  await seedLegacy({ client: m.legacy, codec: m.codec, objects, seed: seedName, concurrency: 8 });
}

/** One migration run, as `npm run migrate -- --env <env>` does it, with the admins' keys as the static credentials. */
export async function migrate(
  m: TestMigration,
  opts: { relist?: boolean; retryQuarantined?: boolean } = {},
): Promise<MigrateOutcome['summary']> {
  const { summary } = await migrateWorkspace(m.ws, {
    checkpoint: m.checkpointFile,
    report: `${m.checkpointFile}.report`,
    concurrency: 8,
    maxAttempts: 3,
    codec: m.codec,
    clients: { env: m.env },
    ...opts,
  });
  return summary;
}

async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (!keys.length) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

/** Empties and deletes the two buckets (the rig's memstore keeps objects in RAM), and closes the clients. */
export async function dropMigration(m: TestMigration): Promise<void> {
  for (const c of [m.legacy, m.primary]) {
    try {
      await emptyBucket(c.s3, c.bucket);
      await c.s3.send(new DeleteBucketCommand({ Bucket: c.bucket }));
    } finally {
      c.destroy();
    }
  }
}

/**
 * The environment of the CLIs run on `m` from `cwd`: its workspace written to `<cwd>/workspaces`, with a photo-service
 * log of a running app's heartbeats (what the audit reads), the two admins' static keys and the codec's key.
 */
export function cliEnv(m: TestMigration, cwd: string): NodeJS.ProcessEnv {
  const log = path.join(cwd, 'photo-service.log');
  fs.writeFileSync(log, runningAppHeartbeats());
  const wsDir = path.join(cwd, 'workspaces');
  fs.mkdirSync(wsDir, { recursive: true });
  const { file: _file, ...json } = m.ws;
  fs.writeFileSync(path.join(wsDir, 'local.json'), JSON.stringify({ ...json, app: { localLogFile: log } }, null, 2));
  return { ...m.env, BUCKETMOVE_WORKSPACES_DIR: wsDir, LEGACY_FERNET_KEYS: m.keys[0] };
}
