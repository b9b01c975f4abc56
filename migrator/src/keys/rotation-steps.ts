/**
 * The rotation of one user's access key, as the four steps of Secrets Manager's rotation protocol (Secrets Manager
 * User Guide, "Rotation by Lambda function": createSecret, setSecret, testSecret, finishSecret, each idempotent for
 * its token), plus the retirement of the old key. `npm run keys -- rotate` (rotate.ts) runs them in order with a token
 * of its own; the scheduled rotation function (rotation-handler.ts) runs the step Secrets Manager names.
 *
 * 1. createSecret: make room (a user may hold two keys), create a key, store it as the version `token`, AWSPENDING.
 * 2. setSecret: nothing to set: IAM makes a key usable when it creates it.
 * 3. testSecret: the pending key works as the user (prove-key.ts).
 * 4. finishSecret: AWSCURRENT moves to `token`; the old version becomes AWSPREVIOUS.
 * Then retireOldKey deactivates the AWSPREVIOUS key, and deleteRetiredKey deletes it once the grace period (counted
 * from the promotion, the AWSCURRENT version's creation) is over; until then it can be reactivated if something still
 * needed it. The scheduled rotation (`replacePrevious`) leaves the old key active instead, and its next createSecret
 * deletes it, a whole rotation period later.
 *
 * Never more than two keys: before a key is created, the user's other keys are accounted for. The key of an abandoned
 * rotation (AWSPENDING, never current) is deleted; the retired key of the last rotation is deleted if its grace period
 * is over, else the rotation is refused (run `keys finish` when it is); with `replacePrevious` (the scheduled
 * rotation), the last rotation's key is deleted, active or not; any other key (active, or unknown to the secret) is
 * left alone and the rotation refused, saying which and what to do.
 *
 * Every step logs what it did, naming the user and the access key ids (identifiers, not secrets); no secret half and
 * no secret value is ever logged, and the errors never hold one.
 */
import { ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { Logger } from '../log';
import {
  createAccessKey,
  deactivateAccessKey,
  deleteAccessKey,
  listAccessKeys,
  MAX_KEYS_PER_USER,
  type AccessKeyInfo,
} from './access-keys';
import {
  clearPending,
  listVersions,
  promote,
  putPending,
  readKeyPair,
  STAGE,
  versionWith,
  type KeyPair,
  type SecretVersion,
} from './credentials-secret';
import { proveKey, type ProveOptions } from './prove-key';

/** A rotation that must not go on in the state found (one line: what, and what to do). */
export class RotationRefused extends Error {
  override readonly name = 'RotationRefused';
}

export interface RotationTarget {
  readonly iam: IAMClient;
  readonly secrets: SecretsManagerClient;
  /** The credentials secret (name or ARN). */
  readonly secretId: string;
  readonly userName: string;
  readonly userArn: string;
  /** The bucket the user's key must reach (the test step's HeadBucket). */
  readonly bucket: string;
  /** How long a retired key is kept (inactive) before it is deleted, ms. */
  readonly graceMs: number;
  /**
   * The scheduled rotation: the previous rotation's key (still active: the function does not deactivate it) is deleted
   * by the next createSecret, a rotation period after it was replaced, instead of refusing.
   */
  readonly replacePrevious?: boolean;
  readonly prove: Pick<ProveOptions, 'clientsFor' | 'attempts' | 'pauseMs' | 'sleep'>;
  readonly log: Logger;
  readonly now?: () => Date;
}

/** The secret's versions and the user's keys, read together. */
interface State {
  readonly versions: SecretVersion[];
  readonly current?: SecretVersion;
  readonly currentKeyId?: string;
  readonly previousKeyId?: string;
  readonly keys: AccessKeyInfo[];
}

/** The key pair of a version, or undefined when it has no value (a version Secrets Manager opened for a rotation). */
async function tryKeyPair(t: RotationTarget, at: { versionId?: string; stage?: string }): Promise<KeyPair | undefined> {
  try {
    return await readKeyPair(t.secrets, t.secretId, at);
  } catch (err) {
    if (err instanceof ResourceNotFoundException || (err as { name?: string }).name === 'ResourceNotFoundException')
      return undefined;
    throw err;
  }
}

async function readState(t: RotationTarget): Promise<State> {
  const versions = await listVersions(t.secrets, t.secretId);
  const current = versionWith(versions, STAGE.current);
  const previous = versionWith(versions, STAGE.previous);
  const [currentKey, previousKey, keys] = await Promise.all([
    current ? tryKeyPair(t, { versionId: current.versionId }) : undefined,
    previous ? tryKeyPair(t, { versionId: previous.versionId }) : undefined,
    listAccessKeys(t.iam, t.userName),
  ]);
  return { versions, current, currentKeyId: currentKey?.accessKeyId, previousKeyId: previousKey?.accessKeyId, keys };
}

const day = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** When the retired key may go: the grace period after the current version (the new key) was stored. */
function retiredUntil(t: RotationTarget, s: State): Date | undefined {
  return s.current?.created ? new Date(s.current.created.getTime() + t.graceMs) : undefined;
}

/** Step 1: a new key for the user, stored as the version `token` with the label AWSPENDING. */
export async function createSecret(t: RotationTarget, token: string): Promise<void> {
  const now = t.now?.() ?? new Date();
  if (await tryKeyPair(t, { versionId: token, stage: STAGE.pending })) {
    t.log.info(
      { event: 'keys.create', user: t.userName, token },
      'createSecret: the pending key of this rotation is stored already',
    );
    return;
  }
  const s = await readState(t);
  const abandoned = versionWith(s.versions, STAGE.pending);
  const abandonedKeyId =
    abandoned && abandoned.versionId !== token
      ? (await tryKeyPair(t, { versionId: abandoned.versionId }))?.accessKeyId
      : undefined;
  if (s.currentKeyId && !s.keys.some((k) => k.keyId === s.currentKeyId)) {
    t.log.warn(
      { event: 'keys.create', user: t.userName, keyId: s.currentKeyId },
      'createSecret: the key the secret holds as AWSCURRENT no longer exists in IAM',
    );
  }
  for (const k of s.keys.filter((key) => key.keyId !== s.currentKeyId)) {
    if (k.keyId === abandonedKeyId) {
      await deleteAccessKey(t.iam, t.userName, k.keyId);
      t.log.info(
        { event: 'keys.create', user: t.userName, keyId: k.keyId },
        'createSecret: deleted the key of an abandoned rotation (it was never current)',
      );
    } else if (k.keyId === s.previousKeyId && t.replacePrevious) {
      await deleteAccessKey(t.iam, t.userName, k.keyId);
      t.log.info(
        { event: 'keys.create', user: t.userName, keyId: k.keyId },
        'createSecret: deleted the key the last rotation replaced (a rotation period ago)',
      );
    } else if (k.keyId === s.previousKeyId && k.status === 'Inactive') {
      const until = retiredUntil(t, s);
      if (until && until > now) {
        throw new RotationRefused(
          `user ${t.userName} still holds the key ${k.keyId} retired by the last rotation, kept until ${day(until)} (the grace period): rotate again after that, or run \`npm run keys -- finish\` with a shorter --grace`,
        );
      }
      await deleteAccessKey(t.iam, t.userName, k.keyId);
      t.log.info(
        { event: 'keys.create', user: t.userName, keyId: k.keyId },
        'createSecret: deleted the key retired by the last rotation (its grace period is over)',
      );
    } else if (k.keyId === s.previousKeyId) {
      throw new RotationRefused(
        `user ${t.userName}'s previous key ${k.keyId} is still active: the last rotation is not finished; run \`npm run keys -- finish\` (it deactivates the key) before rotating again`,
      );
    } else {
      throw new RotationRefused(
        `user ${t.userName} has the ${k.status.toLowerCase()} key ${k.keyId}, which the secret ${t.secretId} does not hold: it was made outside bucketmove; delete it (aws iam delete-access-key --user-name ${t.userName} --access-key-id ${k.keyId}) once nothing uses it, then rotate`,
      );
    }
  }
  const left = await listAccessKeys(t.iam, t.userName);
  if (left.length >= MAX_KEYS_PER_USER) {
    throw new RotationRefused(
      `user ${t.userName} holds ${left.length} keys (${left.map((k) => k.keyId).join(', ')}): no room for a new one`,
    );
  }
  const key = await createAccessKey(t.iam, t.userName);
  try {
    await putPending(t.secrets, t.secretId, token, key);
  } catch (err) {
    // Nothing may hold a key that no secret records: take it back, then fail.
    await deleteAccessKey(t.iam, t.userName, key.accessKeyId).catch(() => undefined);
    throw err;
  }
  t.log.info(
    { event: 'keys.create', user: t.userName, keyId: key.accessKeyId, token },
    'createSecret: created a new access key and stored it as AWSPENDING',
  );
}

/** Step 2: IAM activates a key when it creates it; there is no other service to give it to. */
export async function setSecret(t: RotationTarget, token: string): Promise<void> {
  t.log.info(
    { event: 'keys.set', user: t.userName, token },
    'setSecret: nothing to set (IAM activates a key when it creates it)',
  );
}

/** Step 3: the pending key works as the user: STS GetCallerIdentity and a HeadBucket of the user's bucket. */
export async function testSecret(t: RotationTarget, token: string): Promise<void> {
  const pending = await readKeyPair(t.secrets, t.secretId, { versionId: token, stage: STAGE.pending });
  await proveKey(pending, {
    ...t.prove,
    userArn: t.userArn,
    bucket: t.bucket,
    onRetry: (check, attempt, reason) =>
      t.log.info(
        { event: 'keys.test', user: t.userName, keyId: pending.accessKeyId, check, attempt, reason },
        'testSecret: the new key is not valid yet (IAM propagates it); retrying',
      ),
  });
  t.log.info(
    { event: 'keys.test', user: t.userName, keyId: pending.accessKeyId },
    `testSecret: the new key works as ${t.userArn} and reaches ${t.bucket}`,
  );
}

/** Step 4: AWSCURRENT moves to the version `token`; Secrets Manager labels the old one AWSPREVIOUS. */
export async function finishSecret(t: RotationTarget, token: string): Promise<void> {
  const versions = await listVersions(t.secrets, t.secretId);
  const current = versionWith(versions, STAGE.current);
  if (current?.versionId === token) {
    t.log.info({ event: 'keys.finish', user: t.userName, token }, 'finishSecret: the new key is current already');
    return;
  }
  await promote(t.secrets, t.secretId, token, current?.versionId);
  const now = await readKeyPair(t.secrets, t.secretId, { stage: STAGE.current });
  t.log.info(
    { event: 'keys.finish', user: t.userName, keyId: now.accessKeyId, token },
    'finishSecret: the new key is AWSCURRENT; the old version is AWSPREVIOUS',
  );
}

/** For a rotation not driven by Secrets Manager: the promoted version drops its AWSPENDING label. */
export async function clearPendingLabel(t: RotationTarget, token: string): Promise<void> {
  const pending = versionWith(await listVersions(t.secrets, t.secretId), STAGE.pending);
  if (pending?.versionId === token) await clearPending(t.secrets, t.secretId, token);
}

/** Deactivates the AWSPREVIOUS key (the one the last rotation replaced) if it is still active; returns its id. */
export async function retireOldKey(t: RotationTarget): Promise<string | undefined> {
  const s = await readState(t);
  const old = s.keys.find((k) => k.keyId === s.previousKeyId && k.keyId !== s.currentKeyId);
  if (!old) {
    t.log.info({ event: 'keys.retire', user: t.userName }, 'no old key to deactivate');
    return undefined;
  }
  if (old.status === 'Active') {
    await deactivateAccessKey(t.iam, t.userName, old.keyId);
    t.log.info({ event: 'keys.retire', user: t.userName, keyId: old.keyId }, 'deactivated the old key');
  } else {
    t.log.info({ event: 'keys.retire', user: t.userName, keyId: old.keyId }, 'the old key is inactive already');
  }
  return old.keyId;
}

export type DeleteOutcome =
  | { readonly state: 'none' }
  | { readonly state: 'deleted'; readonly keyId: string }
  | { readonly state: 'active'; readonly keyId: string }
  | { readonly state: 'waiting'; readonly keyId: string; readonly until: Date };

/** Deletes the retired (inactive) old key once its grace period is over; says why not otherwise. */
export async function deleteRetiredKey(t: RotationTarget): Promise<DeleteOutcome> {
  const s = await readState(t);
  const old = s.keys.find((k) => k.keyId === s.previousKeyId && k.keyId !== s.currentKeyId);
  if (!old) return { state: 'none' };
  if (old.status === 'Active') return { state: 'active', keyId: old.keyId };
  const until = retiredUntil(t, s);
  if (until && until > (t.now?.() ?? new Date())) {
    t.log.info(
      { event: 'keys.delete', user: t.userName, keyId: old.keyId, until: day(until) },
      'the old key stays (inactive) until its grace period is over',
    );
    return { state: 'waiting', keyId: old.keyId, until };
  }
  await deleteAccessKey(t.iam, t.userName, old.keyId);
  t.log.info(
    { event: 'keys.delete', user: t.userName, keyId: old.keyId },
    'deleted the old key (its grace period is over)',
  );
  return { state: 'deleted', keyId: old.keyId };
}

/** The token of a rotation left half-done (AWSPENDING on a version with a key that still exists), to resume it. */
export async function unfinishedRotation(t: RotationTarget): Promise<string | undefined> {
  const versions = await listVersions(t.secrets, t.secretId);
  const pending = versionWith(versions, STAGE.pending);
  if (!pending || pending.stages.includes(STAGE.current)) return undefined;
  const key = await tryKeyPair(t, { versionId: pending.versionId });
  if (!key) return undefined;
  const keys = await listAccessKeys(t.iam, t.userName);
  return keys.some((k) => k.keyId === key.accessKeyId && k.status === 'Active') ? pending.versionId : undefined;
}
