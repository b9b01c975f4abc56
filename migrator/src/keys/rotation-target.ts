/**
 * The clients and names a rotation of one user's key works with, from the workspace: IAM and Secrets Manager in the
 * primary account (with the caller's credentials: the operator's for `npm run keys`, the function's role for the
 * scheduled rotation), and STS and S3 clients signed with the candidate key for the test step.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { iamArn, partitionOf } from '../../../workspaces/arns';
import { credentialsSecretName, keyUserName, type KeyUser } from '../../../workspaces/key-layout';
import { type Workspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { keyRotationOf } from '../../../workspaces/schema';
import { clientConfig, createS3Client } from '../aws/clients';
import { nameOperations } from '../aws/errors';
import type { Credentials } from '../aws/credentials';
import type { Logger } from '../log';
import type { KeyPair } from './credentials-secret';
import type { KeyClients } from './prove-key';
import type { RotationTarget } from './rotation-steps';

const DAY_MS = 86_400_000;

export interface TargetOptions {
  readonly log: Logger;
  /** The caller's credentials (default: the SDK's chain). */
  readonly credentials?: Credentials;
  /** The secret as Secrets Manager names it to a rotation function (its ARN); default: its name. */
  readonly secretId?: string;
  /** Default: the workspace's keyRotation.graceDays. */
  readonly graceMs?: number;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The pause between tries of the test step, ms (default: prove-key.ts's). */
  readonly pauseMs?: number;
  /** Clients signed with a candidate key (default: STS and S3 in the workspace's region); tests answer them. */
  readonly clientsFor?: (keys: KeyPair) => KeyClients;
}

export interface Target extends RotationTarget {
  /** Closes every client's sockets. */
  destroy(): void;
}

/** The rotation target of `user` in `ws`; a one-line ConfigError when the workspace has no such user. */
export function rotationTarget(ws: Workspace, user: KeyUser, o: TargetOptions): Target {
  const userName = keyUserName(ws, user);
  if (!userName)
    throw new ConfigError(`env "${ws.env}" has no ${user} user (primary.devUser exists in the dev workspace only)`);
  const region = ws.region;
  const { requestHandler, retryStrategy } = clientConfig({ region, s3Compatible: false });
  const credentials = o.credentials ?? fromNodeProviderChain();
  const iam = nameOperations(new IAMClient({ region, requestHandler, retryStrategy, credentials }));
  const secrets = nameOperations(new SecretsManagerClient({ region, requestHandler, retryStrategy, credentials }));
  const clientsFor =
    o.clientsFor ??
    ((keys: KeyPair): KeyClients => {
      // A client of its own per candidate key: nothing signed with the caller's credentials is reused for it.
      const fixed = { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey };
      const sts = nameOperations(new STSClient({ region, credentials: fixed }));
      const s3 = createS3Client({ region, s3Compatible: false, credentials: fixed });
      return { sts, s3, destroy: () => (sts.destroy(), s3.destroy()) };
    });
  return {
    iam,
    secrets,
    secretId: o.secretId ?? credentialsSecretName(ws.env, userName),
    userName,
    userArn: iamArn(partitionOf(region), ws.primary.accountId, 'user', userName),
    bucket: ws.primary.bucket,
    graceMs: o.graceMs ?? keyRotationOf(ws).graceDays * DAY_MS,
    prove: { clientsFor, sleep: o.sleep, pauseMs: o.pauseMs },
    log: o.log,
    now: o.now,
    destroy: () => {
      iam.destroy();
      secrets.destroy();
    },
  };
}
