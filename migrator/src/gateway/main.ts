/**
 * npm run -s gateway -- --env <env> [flags]
 *
 * An S3-API gateway in front of the two buckets: the app changes its S3 endpoint (AWS_ENDPOINT_URL_S3, boto3's
 * endpoint_url, the JS SDK's endpoint + forcePathStyle) and nothing else; behind the endpoint sits the photo store
 * with its mode, fallback, codec, tombstones, fallback-hit and heartbeat lines (docs/gateway.md).
 *
 * Configuration, as the reference photo service's (service/main.ts):
 * - the store: the PHOTO_STORE_* variables and the gateway's OWN keys to the buckets (AWS_* and LEGACY_AWS_*), read
 *   by migrator/src/store/config.ts; or, instead of those keys, the gateway's role (the stacks create it with
 *   `gateway.enabled`): `--role-arn <arn|workspace>` assumes it from the SDK's default chain, `--ambient-credentials`
 *   runs as it where it is the ECS task role or the EC2 instance profile;
 * - the app's keys, which requests are verified against (never the keys to the buckets):
 *   BUCKETMOVE_GATEWAY_ACCESS_KEY_ID and BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY, or --credentials-secret naming a Secrets
 *   Manager secret in the project's key layout {"AWS_ACCESS_KEY_ID","AWS_SECRET_ACCESS_KEY"} (its AWSCURRENT version,
 *   read at start), by default the workspace's `gateway.appCredentialsSecret` when the two variables are not set;
 * - --env names the workspace: the app may address the workspace's bucket names (new and legacy) as well as the
 *   store's, and signs for the workspace's region unless --region says otherwise.
 *
 * JSON log lines on stdout (the store's fallback hits and heartbeats among them, as the audit reads them).
 * Plain HTTP is served on loopback only unless --insecure-bind; --tls-cert and --tls-key serve HTTPS. /healthz and
 * /metrics answer on the admin port. SIGTERM or SIGINT: the requests in flight are answered, then the store writes its
 * last heartbeat. Bad flags or configuration: one line on stderr, exit 2.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import { isIP } from 'net';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { gatewayRoleArn } from '../../../workspaces/arns';
import { loadWorkspace, type LoadedWorkspace } from '../../../workspaces/load';
import { assumeRoleCredentials, sessionName, type Credentials } from '../aws/credentials';
import { ConfigError, UsageError } from '../../../workspaces/errors';
import { checkWhole, EXIT, isEntry, parseStrict, runCli } from '../cli/run-cli';
import { createLogger } from '../log';
import { listen, untilStopped } from '../service/serve';
import { createStore, STORE_ENV, StoreError, storeConfigFromEnv } from '../store';
import { adminHandler, onClientError, s3Handler } from './server';
import type { AppCredentials } from './sigv4-verify';
import { MIB } from '../../../workspaces/units';

export const GATEWAY_ENV = {
  accessKeyId: 'BUCKETMOVE_GATEWAY_ACCESS_KEY_ID',
  secretAccessKey: 'BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY',
} as const;

export interface Args {
  env: string;
  host: string;
  port: number;
  'admin-host': string;
  'admin-port': number;
  'tls-cert'?: string;
  'tls-key'?: string;
  'insecure-bind': boolean;
  region?: string;
  'credentials-secret'?: string;
  'role-arn'?: string;
  'ambient-credentials'?: boolean;
  'max-object-mb': number;
  'keep-alive-ms': number;
}

function parseArgs(argv: string[]): Args {
  return parseStrict(
    yargs(argv)
      .scriptName('npm run gateway --')
      .usage(
        "$0 --env <env> [options]\n\nServes the S3 REST API (GetObject, HeadObject, PutObject, DeleteObject, DeleteObjects, ListObjects and ListObjectsV2, multipart upload; path-style or virtual-hosted) in front of the new and the legacy bucket, through the photo store and its mode (PHOTO_STORE_MODE): the app changes its S3 endpoint, not its code. Requests are verified with SigV4 against the app's keys (BUCKETMOVE_GATEWAY_ACCESS_KEY_ID / BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY, or --credentials-secret); the gateway reaches the buckets with its own keys (AWS_* and LEGACY_AWS_*). See docs/gateway.md.",
      )
      .option('env', {
        type: 'string',
        demandOption: true,
        describe: 'Workspace (a file in workspaces/): the bucket names the app may address and the region it signs for',
      })
      .option('host', {
        type: 'string',
        default: '127.0.0.1',
        describe: 'Address the S3 API listens on (plain HTTP: loopback only unless --insecure-bind)',
      })
      .option('port', { type: 'number', default: 9080, describe: 'Port of the S3 API' })
      .option('admin-host', { type: 'string', default: '127.0.0.1', describe: 'Address of /healthz and /metrics' })
      .option('admin-port', { type: 'number', default: 9081, describe: 'Port of /healthz and /metrics' })
      .option('tls-cert', { type: 'string', describe: 'PEM certificate (chain) file: serve HTTPS (with --tls-key)' })
      .option('tls-key', { type: 'string', describe: 'PEM private key file of --tls-cert' })
      .option('insecure-bind', {
        type: 'boolean',
        default: false,
        describe: 'Allow plain HTTP on a non-loopback address (signatures stop forgery, not eavesdropping)',
      })
      .option('region', { type: 'string', describe: "Region the app signs for [default: the workspace's]" })
      .option('credentials-secret', {
        type: 'string',
        describe:
          'Secrets Manager secret (name or ARN) holding the app\'s keys {"AWS_ACCESS_KEY_ID","AWS_SECRET_ACCESS_KEY"}',
      })
      .option('role-arn', {
        type: 'string',
        describe:
          'Reach both buckets as this role (STS AssumeRole from the SDK\'s default chain) instead of AWS_* / LEGACY_AWS_*; "workspace": the workspace\'s gateway role (gateway.enabled)',
      })
      .option('ambient-credentials', {
        type: 'boolean',
        describe:
          "Reach both buckets with the SDK's default chain (the ECS task role or EC2 instance profile the stacks' gateway role is) instead of AWS_* / LEGACY_AWS_*",
      })
      .option('max-object-mb', {
        type: 'number',
        default: 100,
        describe: 'Largest PutObject or UploadPart body, in MiB (bodies are held in memory; larger photos: multipart)',
      })
      .option('keep-alive-ms', {
        type: 'number',
        default: 65_000,
        describe: "Idle keep-alive of client connections (longer than a load balancer's 60 s)",
      }),
    {
      0: 'stopped by SIGTERM or SIGINT (its normal stop) after the requests in flight',
      1: 'failed while serving',
      2: 'cannot start: bad flags, configuration, certificates, buckets, endpoints or keys',
    },
  ) as unknown as Args;
}

const LOOPBACK = (host: string) =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/**
 * The app's keys: from --credentials-secret when named, else from the two variables, else from the workspace's
 * `gateway.appCredentialsSecret` (never echoed).
 */
export async function appCredentials(
  args: Args,
  region: string,
  env: NodeJS.ProcessEnv,
  workspaceSecret?: string,
): Promise<AppCredentials[]> {
  const fromEnv = Boolean(env[GATEWAY_ENV.accessKeyId]?.trim() || env[GATEWAY_ENV.secretAccessKey]?.trim());
  const secretName = args['credentials-secret'] ?? (fromEnv ? undefined : workspaceSecret);
  if (secretName) {
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const { readKeyPair } = await import('../keys/credentials-secret');
    const sm = new SecretsManagerClient({ region });
    try {
      return [await readKeyPair(sm, secretName, { stage: 'AWSCURRENT' })];
    } catch (err) {
      throw new ConfigError(
        `cannot read the app's keys from ${args['credentials-secret'] ? '--credentials-secret' : "the workspace's gateway.appCredentialsSecret"} ${secretName}: ${(err as Error).name}: ${(err as Error).message.split('\n')[0]}`,
      );
    } finally {
      sm.destroy();
    }
  }
  const id = env[GATEWAY_ENV.accessKeyId]?.trim();
  const secret = env[GATEWAY_ENV.secretAccessKey]?.trim();
  if (!id || !secret) {
    const missing = [!id && GATEWAY_ENV.accessKeyId, !secret && GATEWAY_ENV.secretAccessKey]
      .filter(Boolean)
      .join(' and ');
    throw new ConfigError(
      `missing ${missing}: set the app's access key (the one it signs requests with) there, or name a secret with --credentials-secret`,
    );
  }
  return [{ accessKeyId: id, secretAccessKey: secret }];
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::[\w-]+:role\/[\w+=,.@/-]+$/;

/**
 * The gateway's own credentials to both buckets when it runs as its role rather than with the AWS_* and LEGACY_AWS_*
 * keys: `--ambient-credentials` (the SDK's default chain: the ECS task role, the instance profile), or `--role-arn`
 * assumed from that chain with `fromTemporaryCredentials` (the client refreshes the session before it expires). The
 * legacy bucket is reached with the same role: the legacy stack's bucket policy grants it. Undefined: the keys.
 */
export function bucketCredentials(
  args: Pick<Args, 'role-arn' | 'ambient-credentials'>,
  ws: LoadedWorkspace,
  sts: { region: string; endpoint?: string },
): Credentials | undefined {
  if (args['role-arn'] !== undefined && args['ambient-credentials'])
    throw new UsageError('--role-arn and --ambient-credentials exclude each other: give one');
  if (args['ambient-credentials']) return fromNodeProviderChain();
  if (args['role-arn'] === undefined) return undefined;
  let roleArn = args['role-arn'].trim();
  if (roleArn === 'workspace') {
    if (!ws.gateway.enabled)
      throw new ConfigError(
        `--role-arn workspace: the workspace ${ws.env} has no gateway role (set gateway.enabled and deploy its stacks), or give the role's ARN`,
      );
    roleArn = gatewayRoleArn(ws);
  } else if (!ROLE_ARN.test(roleArn)) {
    throw new UsageError(
      `--role-arn must be an IAM role ARN such as arn:aws:iam::111122223333:role/bucketmove-gateway, or "workspace" (got "${roleArn}")`,
    );
  }
  return assumeRoleCredentials({
    roleArn,
    sessionName: sessionName(ws, 'primary', 'gateway'),
    master: fromNodeProviderChain(),
    region: sts.region,
    ...(sts.endpoint ? { stsEndpoint: sts.endpoint } : {}),
  });
}

async function main(): Promise<number> {
  const args = parseArgs(hideBin(process.argv));
  checkWhole('port', args.port, 0, 65535);
  checkWhole('admin-port', args['admin-port'], 0, 65535);
  checkWhole('max-object-mb', args['max-object-mb'], 1, 5 * 1024);
  checkWhole('keep-alive-ms', args['keep-alive-ms'], 1_000, 3_600_000);
  const tls = Boolean(args['tls-cert'] || args['tls-key']);
  if (tls && !(args['tls-cert'] && args['tls-key'])) throw new UsageError('--tls-cert and --tls-key go together');
  if (!tls && !LOOPBACK(args.host) && !args['insecure-bind']) {
    throw new UsageError(
      `--host ${args.host} is not a loopback address: serve HTTPS (--tls-cert, --tls-key) or pass --insecure-bind to allow plain HTTP there`,
    );
  }
  const ws = loadWorkspace(args.env);
  const region = args.region ?? ws.region;
  const roleCredentials = bucketCredentials(args, ws, {
    region: process.env.AWS_REGION?.trim() || ws.region,
    // On an S3-compatible store (the rig's RGW) STS answers on the S3 endpoint.
    endpoint: process.env[STORE_ENV.endpoint]?.trim() || undefined,
  });
  const config = storeConfigFromEnv(process.env, { credentials: roleCredentials });
  const credentials = await appCredentials(
    args,
    region,
    process.env,
    ws.gateway.enabled ? ws.gateway.appCredentialsSecret : undefined,
  );
  const buckets = [
    ...new Set(
      [ws.primary.bucket, ws.legacy?.bucket, config.primary?.bucket, config.legacy?.bucket].filter((b): b is string =>
        Boolean(b),
      ),
    ),
  ];
  let tlsOptions: https.ServerOptions | undefined;
  if (tls) {
    try {
      tlsOptions = { cert: fs.readFileSync(args['tls-cert']!), key: fs.readFileSync(args['tls-key']!) };
    } catch (err) {
      throw new ConfigError(`cannot read the TLS files: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  const log = createLogger({ name: 'bucketmove-gateway', destination: 1 });
  const store = await createStore(config, { logger: log });
  try {
    await store.preflight();
  } catch (err) {
    await store.close();
    if (err instanceof StoreError)
      throw new ConfigError(`cannot start: ${err.message}; check the buckets, endpoints and the gateway's keys`);
    throw err;
  }
  const handler = s3Handler({ store, credentials, region, buckets, maxBodyBytes: args['max-object-mb'] * MIB, log });
  let server: http.Server;
  try {
    server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  } catch (err) {
    await store.close();
    throw new ConfigError(
      `--tls-cert / --tls-key are not a usable certificate and key: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  server.keepAliveTimeout = args['keep-alive-ms'];
  server.on('clientError', onClientError(log));
  const admin = http.createServer(adminHandler(store));
  let port: number;
  let adminPort: number;
  try {
    port = await listen(server, args.host, args.port, 'choose another --port or --host');
    adminPort = await listen(
      admin,
      args['admin-host'],
      args['admin-port'],
      'choose another --admin-port or --admin-host',
    );
  } catch (err) {
    server.close();
    admin.close();
    await store.close();
    throw err;
  }
  const scheme = tlsOptions ? 'https' : 'http';
  log.info(
    {
      event: 'gateway.listening',
      url: `${scheme}://${args.host}:${port}`,
      admin: `http://${args['admin-host']}:${adminPort}`,
      mode: store.mode,
      region,
      buckets,
    },
    `S3 gateway listening on ${scheme}://${args.host}:${port} (${store.mode}); /healthz and /metrics on http://${args['admin-host']}:${adminPort}`,
  );
  await untilStopped([server, admin], log, 'gateway.stopping');
  await store.close();
  log.info({ event: 'gateway.stopped', counts: store.counts() }, 'gateway stopped');
  return EXIT.ok;
}

if (isEntry(module)) runCli('gateway', main);
