/**
 * Credentials for one side of a workspace, in one of two modes:
 *
 * - `assume-role`: STS AssumeRole into the side's migration role (legacy: the reader role in the legacy account,
 *   primary: the writer role in the primary account) with the workspace's ExternalId, through the SDK's
 *   `fromTemporaryCredentials`. The S3 client memoizes the session and fetches a new one on the first request made
 *   less than 5 minutes before the session expires (@smithy/core `memoizeIdentityProvider` with `EXPIRATION_MS`), so
 *   runs longer than a session keep working. The caller's own ("master") credentials are the SDK's default chain on
 *   AWS, and the migrator principal's keys from the rig state on the rig.
 * - `static`: long-lived keys from the environment (the seed's pattern): the primary side's in AWS_ACCESS_KEY_ID /
 *   AWS_SECRET_ACCESS_KEY, the legacy side's in LEGACY_AWS_ACCESS_KEY_ID / LEGACY_AWS_SECRET_ACCESS_KEY. On the rig,
 *   when neither variable of a side is set, the keys of the rig's app user for that side are used.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { type LoadedWorkspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import type { ResolvedEndpoint, Side } from './endpoint';
import { iamArn, partitionOf } from '../../../workspaces/arns';

export type CredentialsMode = 'assume-role' | 'static';

/** Keys, or a provider of (temporary) keys: what an SDK client's `credentials` accepts. */
export type Credentials = NonNullable<S3ClientConfig['credentials']>;
export type CredentialsProvider = Extract<Credentials, (...args: never[]) => unknown>;
export type Keys = Exclude<Credentials, CredentialsProvider>;
type RetryStrategy = NonNullable<S3ClientConfig['retryStrategy']>;

/** The environment variables that hold each side's static keys. */
export const STATIC_KEY_ENV: Record<Side, { accessKeyId: string; secretAccessKey: string; sessionToken: string }> = {
  primary: {
    accessKeyId: 'AWS_ACCESS_KEY_ID',
    secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
    sessionToken: 'AWS_SESSION_TOKEN',
  },
  legacy: {
    accessKeyId: 'LEGACY_AWS_ACCESS_KEY_ID',
    secretAccessKey: 'LEGACY_AWS_SECRET_ACCESS_KEY',
    sessionToken: 'LEGACY_AWS_SESSION_TOKEN',
  },
};

/** The ARN of a side's migration role: the reader role in the legacy account, the writer role in the primary one. */
export function migrationRoleArn(ws: LoadedWorkspace, side: Side, region: string): string {
  const name = side === 'legacy' ? ws.legacy.readerRoleName : ws.primary.writerRoleName;
  return iamArn(partitionOf(region), ws[side].accountId, 'role', name);
}

/** A role session name: 2-64 of [\w+=,.@-] (STS rejects anything else). */
export function sessionName(ws: LoadedWorkspace, side: Side, purpose = 'bucketmove'): string {
  return `${purpose}-${ws.env}-${side}-${process.pid}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/** The static keys of a side, from the environment (or, on the rig, the rig's app user). */
export function staticCredentials(side: Side, endpoint: ResolvedEndpoint, env: NodeJS.ProcessEnv = process.env): Keys {
  const names = STATIC_KEY_ENV[side];
  const accessKeyId = env[names.accessKeyId]?.trim();
  const secretAccessKey = env[names.secretAccessKey]?.trim();
  if (!accessKeyId && !secretAccessKey && endpoint.rig) {
    const app = side === 'legacy' ? endpoint.rig.principals.legacyApp : endpoint.rig.principals.primaryApp;
    return { accessKeyId: app.accessKeyId, secretAccessKey: app.secretAccessKey };
  }
  const missing = [!accessKeyId && names.accessKeyId, !secretAccessKey && names.secretAccessKey].filter(Boolean);
  if (missing.length) {
    throw new ConfigError(
      `missing ${missing.join(' and ')}: the ${side} side uses static keys, so set ${names.accessKeyId} and ${names.secretAccessKey} (or use "credentials": "assume-role" in the workspace)`,
    );
  }
  const sessionToken = env[names.sessionToken]?.trim() || undefined;
  return { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey!, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * The credentials the migrator assumes roles with: on the rig, the migrator principal's keys from its state; elsewhere
 * the SDK's default chain (environment, shared config, SSO, ECS task role, instance profile).
 */
export function masterCredentials(endpoint: ResolvedEndpoint): Credentials {
  if (endpoint.rig) {
    const { accessKeyId, secretAccessKey } = endpoint.rig.principals.migrator;
    return { accessKeyId, secretAccessKey };
  }
  return fromNodeProviderChain();
}

export interface AssumeRoleOptions {
  readonly roleArn: string;
  /** The migration roles' sts:ExternalId; none for the gateway's role (its trust names its principals alone). */
  readonly externalId?: string;
  readonly sessionName: string;
  /** The session length; STS default 3600. The S3 client refreshes 5 minutes before it ends. */
  readonly durationSeconds?: number;
  readonly master: Credentials;
  /** Where STS answers: the S3-compatible endpoint (RGW serves STS on the same port), or AWS's regional STS. */
  readonly stsEndpoint?: string;
  readonly region: string;
  readonly requestHandler?: NodeHttpHandler;
  readonly retryStrategy?: RetryStrategy;
}

/**
 * STS AssumeRole (with the ExternalId when given), as an SDK credential provider (the S3 client memoizes and refreshes
 * it).
 */
export function assumeRoleCredentials(o: AssumeRoleOptions): CredentialsProvider {
  return fromTemporaryCredentials({
    params: {
      RoleArn: o.roleArn,
      RoleSessionName: o.sessionName,
      ...(o.externalId ? { ExternalId: o.externalId } : {}),
      ...(o.durationSeconds ? { DurationSeconds: o.durationSeconds } : {}),
    },
    masterCredentials: o.master,
    clientConfig: {
      region: o.region,
      ...(o.stsEndpoint ? { endpoint: o.stsEndpoint } : {}),
      ...(o.requestHandler ? { requestHandler: o.requestHandler } : {}),
      ...(o.retryStrategy ? { retryStrategy: o.retryStrategy } : {}),
    },
  });
}
