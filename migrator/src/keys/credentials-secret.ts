/**
 * The Secrets Manager secret of a user's key pair, read and staged as the rotation protocol has it (Secrets Manager
 * User Guide, "Rotation by Lambda function", the four steps and their staging labels): the new value is written as a
 * version labelled AWSPENDING, tested, then AWSCURRENT moves to it, and Secrets Manager gives AWSPREVIOUS to the
 * version AWSCURRENT left.
 *
 * The value is {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} (workspaces/key-layout.ts). The secret half never
 * leaves this module but in the objects it returns; nothing here logs.
 */
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CredentialsSecretValue } from '../../../workspaces/key-layout';

export const STAGE = { current: 'AWSCURRENT', pending: 'AWSPENDING', previous: 'AWSPREVIOUS' } as const;

/** A key pair as a secret holds it. */
export interface KeyPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** One version of the secret: its id (the rotation's token), its labels and when it was created. */
export interface SecretVersion {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly created?: Date;
}

/** The secret's versions that carry a staging label, newest first. */
export async function listVersions(sm: SecretsManagerClient, secretId: string): Promise<SecretVersion[]> {
  const versions: SecretVersion[] = [];
  let NextToken: string | undefined;
  do {
    const out = await sm.send(new ListSecretVersionIdsCommand({ SecretId: secretId, NextToken }));
    for (const v of out.Versions ?? []) {
      if (v.VersionId && v.VersionStages?.length)
        versions.push({ versionId: v.VersionId, stages: v.VersionStages, created: v.CreatedDate });
    }
    NextToken = out.NextToken;
  } while (NextToken);
  return versions.sort((a, b) => (b.created?.getTime() ?? 0) - (a.created?.getTime() ?? 0));
}

/** The version that carries `stage`, if any. */
export function versionWith(versions: readonly SecretVersion[], stage: string): SecretVersion | undefined {
  return versions.find((v) => v.stages.includes(stage));
}

/** The key pair of a version (by id, or by label). Throws when the value is not a key pair, never echoing it. */
export async function readKeyPair(
  sm: SecretsManagerClient,
  secretId: string,
  at: { versionId?: string; stage?: string },
): Promise<KeyPair> {
  const out = await sm.send(
    new GetSecretValueCommand({ SecretId: secretId, VersionId: at.versionId, VersionStage: at.stage }),
  );
  return parseKeyPair(out.SecretString, `${secretId} (${at.stage ?? at.versionId})`);
}

/** The key pair in a secret's text; a one-line error naming the secret (not the text) when it is not one. */
export function parseKeyPair(text: string | undefined, where: string): KeyPair {
  let value: Partial<CredentialsSecretValue> | undefined;
  try {
    value = text === undefined ? undefined : (JSON.parse(text) as Partial<CredentialsSecretValue>);
  } catch {
    value = undefined;
  }
  if (!value || typeof value.AWS_ACCESS_KEY_ID !== 'string' || typeof value.AWS_SECRET_ACCESS_KEY !== 'string') {
    throw new Error(`secret ${where} does not hold {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}`);
  }
  return { accessKeyId: value.AWS_ACCESS_KEY_ID, secretAccessKey: value.AWS_SECRET_ACCESS_KEY };
}

/** The secret's text for a key pair. */
export function keyPairText(k: KeyPair): string {
  const value: CredentialsSecretValue = { AWS_ACCESS_KEY_ID: k.accessKeyId, AWS_SECRET_ACCESS_KEY: k.secretAccessKey };
  return JSON.stringify(value);
}

/** Stores a key pair as the version `token`, labelled AWSPENDING (the label moves off any other version). */
export async function putPending(sm: SecretsManagerClient, secretId: string, token: string, k: KeyPair): Promise<void> {
  await sm.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      ClientRequestToken: token,
      SecretString: keyPairText(k),
      VersionStages: [STAGE.pending],
    }),
  );
}

/** Moves AWSCURRENT to the version `token` (Secrets Manager labels the version it leaves AWSPREVIOUS). */
export async function promote(
  sm: SecretsManagerClient,
  secretId: string,
  token: string,
  currentVersionId: string | undefined,
): Promise<void> {
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: STAGE.current,
      MoveToVersionId: token,
      RemoveFromVersionId: currentVersionId,
    }),
  );
}

/**
 * Removes the AWSPENDING label from the version `token` (a rotation driven by `npm run keys`, not by Secrets Manager).
 */
export async function clearPending(sm: SecretsManagerClient, secretId: string, token: string): Promise<void> {
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: STAGE.pending,
      RemoveFromVersionId: token,
    }),
  );
}
