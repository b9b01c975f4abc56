/**
 * What integration tests need from the local S3: the state of the run's rig (or external endpoint), a workspace that
 * matches it, and clients signed as any of its principals.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { PROBE_PREFIX } from '../../../migrator/src/migrate/conditional-write-probe';
import { loadWorkspace, type LoadedWorkspace } from '../../../workspaces/load';
import { clientConfig, createS3Client } from '../../../migrator/src/aws/clients';
import { readRigState, rigStatePath, type RigPrincipalName, type RigState } from '../../../migrator/src/aws/rig-state';
import { runAwsCli, type CliKeys, type CliResult } from '../../../migrator/rig/aws-cli';

let cached: RigState | undefined;

/** The state of the run's S3 endpoint (global-setup put its path in BUCKETMOVE_RIG_STATE). */
export function rigState(): RigState {
  cached ??= readRigState(rigStatePath());
  return cached;
}

/** The keys of one of the state's principals, as a fresh object (the SDK annotates the objects it is given). */
export function keysOf(who: RigPrincipalName | CliKeys): CliKeys {
  const p: CliKeys = typeof who === 'string' ? rigState().principals[who] : who;
  return {
    accessKeyId: p.accessKeyId,
    secretAccessKey: p.secretAccessKey,
    ...(p.sessionToken ? { sessionToken: p.sessionToken } : {}),
  };
}

/**
 * The local workspace, with the names of the state's accounts, buckets, roles and migrator (the same as local.json's
 * for the rig; those of the external server otherwise). `patch` edits a copy, e.g. to switch credentials to static.
 */
export function testWorkspace(patch: (ws: LoadedWorkspace) => void = () => {}): LoadedWorkspace {
  const s = rigState();
  const ws = structuredClone(loadWorkspace('local'));
  ws.legacy.accountId = s.tenants.legacy;
  ws.primary.accountId = s.tenants.primary;
  ws.legacy.bucket = s.buckets.legacy;
  ws.primary.bucket = s.buckets.primary;
  ws.legacy.readerRoleName = s.roles.reader.arn.split('/').pop()!;
  ws.primary.writerRoleName = s.roles.writer.arn.split('/').pop()!;
  ws.migration.principals = [s.principals.migrator.arn];
  patch(ws);
  return ws;
}

/** An S3 client signed as a principal of the state (or with given keys, e.g. an STS session's). */
export function s3As(
  who: RigPrincipalName | CliKeys,
  transport?: Parameters<typeof createS3Client>[0]['transport'],
): S3Client {
  const s = rigState();
  return createS3Client({
    endpoint: s.endpoint,
    region: s.region,
    s3Compatible: true,
    credentials: keysOf(who),
    transport,
  });
}

function serviceConfig() {
  const { region, endpoint, requestHandler, retryStrategy } = clientConfig({
    endpoint: rigState().endpoint,
    region: rigState().region,
    s3Compatible: true,
  });
  return { region, endpoint: endpoint as string, requestHandler, retryStrategy };
}

export function iamAs(who: RigPrincipalName): IAMClient {
  return new IAMClient({ ...serviceConfig(), credentials: keysOf(who) });
}

export function stsAs(who: RigPrincipalName | CliKeys): STSClient {
  return new STSClient({ ...serviceConfig(), credentials: keysOf(who) });
}

/** /usr/bin/aws against the state's endpoint, signed as a principal (see migrator/rig/aws-cli.ts). */
export function awsCliAs(who: RigPrincipalName | CliKeys, args: string[]): Promise<CliResult> {
  const s = rigState();
  return runAwsCli(args, { endpoint: s.endpoint, region: s.region, keys: keysOf(who) });
}

let counter = 0;

/** A key no other test of the run uses (test files run in parallel workers that share the buckets). */
export function uniqueKey(prefix: string): string {
  counter += 1;
  return `${prefix}/w${process.pid}-${counter}`;
}

/** The keys under the conditional-write probe's prefix in the new bucket (the probe must leave none). */
export async function probeKeys(): Promise<Array<string | undefined>> {
  const out = await s3As('primaryApp').send(
    new ListObjectsV2Command({ Bucket: rigState().buckets.primary, Prefix: PROBE_PREFIX }),
  );
  return out.Contents?.map((o) => o.Key) ?? [];
}
