/**
 * `npm run keys` (cli/keys.ts), one user's key at a time:
 *
 * - rotate: the four steps of rotation-steps.ts with a token of its own (or the token of a rotation left half-done,
 *   which it resumes), the new key into the app's Terraform Cloud workspaces (app user, when the workspace names
 *   them), the old key deactivated, then deleted once the grace period is over: at once with `wait`, else by a later
 *   `finish`.
 * - finish: deactivates the old key if a rotation left it active, and deletes it once its grace period is over.
 * - terraformCloud: writes the current key into the app's Terraform Cloud workspaces again.
 * - status: the user's keys and the secret's versions (ids, labels, dates; never a value).
 *
 * Each function reports through `say`, lines for the operator; the steps log JSON lines. No secret goes to either.
 */
import { randomUUID } from 'crypto';
import { listAccessKeys } from './access-keys';
import { listVersions, readKeyPair, STAGE } from './credentials-secret';
import {
  clearPendingLabel,
  createSecret,
  deleteRetiredKey,
  finishSecret,
  retireOldKey,
  setSecret,
  testSecret,
  unfinishedRotation,
  type DeleteOutcome,
  type RotationTarget,
} from './rotation-steps';
import { writeKeysToTerraformCloud, type TerraformCloudApp } from './terraform-cloud';

export interface TerraformCloudWrite {
  readonly app: TerraformCloudApp;
  /** The API token (read only when it is needed). */
  readonly token: () => string;
  readonly fetch?: typeof fetch;
}

export interface RotateOptions {
  /** Deactivate the old key right after the new one is current (default true). */
  readonly deactivate?: boolean;
  /** Wait out the grace period, then delete the old key (default: leave that to `finish`). */
  readonly wait?: boolean;
  /** Where the app's keys go after the rotation (app user only). */
  readonly terraformCloud?: TerraformCloudWrite;
  /** A token of the caller's choosing (default: a random UUID, or the token of the unfinished rotation). */
  readonly token?: string;
  readonly say: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RotateResult {
  readonly token: string;
  readonly resumed: boolean;
  readonly newKeyId: string;
  readonly oldKeyId?: string;
  readonly deletion: DeleteOutcome;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Writes the current key into the app's Terraform Cloud workspaces, saying which variables it created or updated. */
export async function pushToTerraformCloud(
  t: RotationTarget,
  w: TerraformCloudWrite,
  say: (line: string) => void,
): Promise<void> {
  const current = await readKeyPair(t.secrets, t.secretId, { stage: STAGE.current });
  const writes = await writeKeysToTerraformCloud(w.app, current, {
    token: w.token(),
    fetch: w.fetch,
    userName: t.userName,
  });
  for (const r of writes) {
    t.log.info(
      {
        event: 'keys.terraform-cloud',
        user: t.userName,
        keyId: current.accessKeyId,
        workspace: r.workspace,
        created: r.created,
        updated: r.updated,
      },
      'wrote the current key into a Terraform Cloud workspace',
    );
    say(
      `Terraform Cloud workspace ${r.workspace}: ${[...r.created.map((v) => `${v} created`), ...r.updated.map((v) => `${v} updated`)].join(', ')} (sensitive, ${w.app.category})`,
    );
  }
}

/** Deletes the retired key when its grace period is over; with `wait`, waits for that first. */
async function deleteWhenDue(
  t: RotationTarget,
  o: Pick<RotateOptions, 'wait' | 'sleep' | 'say'>,
): Promise<DeleteOutcome> {
  for (;;) {
    const out = await deleteRetiredKey(t);
    if (out.state !== 'waiting' || !o.wait) return out;
    const ms = out.until.getTime() - (t.now?.() ?? new Date()).getTime();
    o.say(`waiting until ${iso(out.until)} (the grace period) to delete the old key ${out.keyId}`);
    await (o.sleep ?? realSleep)(Math.max(ms, 1000));
  }
}

function sayDeletion(
  t: RotationTarget,
  out: DeleteOutcome,
  say: (line: string) => void,
  env: string,
  user: string,
): void {
  const finish = `npm run keys -- finish --env ${env} --user ${user}`;
  if (out.state === 'deleted') say(`deleted the old key ${out.keyId}`);
  else if (out.state === 'waiting')
    say(
      `the old key ${out.keyId} is inactive and kept until ${iso(out.until)} (the grace period); then run: ${finish}`,
    );
  else if (out.state === 'active')
    say(`the old key ${out.keyId} is still active: once nothing uses it any more, run: ${finish}`);
  else say(`user ${t.userName} holds no old key`);
}

/** Rotates the user's key (see the module comment). `env` and `user` only name the follow-up command. */
export async function rotateKey(
  t: RotationTarget,
  o: RotateOptions & { env: string; user: string },
): Promise<RotateResult> {
  const unfinished = o.token ? undefined : await unfinishedRotation(t);
  const token = o.token ?? unfinished ?? randomUUID();
  if (unfinished) o.say(`resuming the unfinished rotation ${token} of user ${t.userName}`);
  const before = await listVersions(t.secrets, t.secretId);
  const oldKeyId = before.some((v) => v.stages.includes(STAGE.current))
    ? (await readKeyPair(t.secrets, t.secretId, { stage: STAGE.current })).accessKeyId
    : undefined;

  await createSecret(t, token);
  await setSecret(t, token);
  await testSecret(t, token);
  await finishSecret(t, token);
  await clearPendingLabel(t, token);
  const newKeyId = (await readKeyPair(t.secrets, t.secretId, { stage: STAGE.current })).accessKeyId;
  o.say(
    `user ${t.userName}: the new key ${newKeyId} is current in ${t.secretId}${oldKeyId && oldKeyId !== newKeyId ? ` (it replaces ${oldKeyId})` : ''}`,
  );

  if (o.terraformCloud) {
    try {
      await pushToTerraformCloud(t, o.terraformCloud, o.say);
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; the new key is current and the old one still active: fix that, then run \`npm run keys -- terraform-cloud --env ${o.env} --user ${o.user}\` and \`npm run keys -- finish --env ${o.env} --user ${o.user}\``,
      );
    }
  }

  if (o.deactivate === false) {
    const out: DeleteOutcome =
      oldKeyId && oldKeyId !== newKeyId ? { state: 'active', keyId: oldKeyId } : { state: 'none' };
    sayDeletion(t, out, o.say, o.env, o.user);
    return { token, resumed: !!unfinished, newKeyId, oldKeyId, deletion: out };
  }
  const retired = await retireOldKey(t);
  if (retired) o.say(`deactivated the old key ${retired}`);
  const deletion = await deleteWhenDue(t, o);
  sayDeletion(t, deletion, o.say, o.env, o.user);
  return { token, resumed: !!unfinished, newKeyId, oldKeyId: retired ?? oldKeyId, deletion };
}

/**
 * Finishes a rotation later: deactivates the old key if it is still active, deletes it once its grace period is over.
 */
export async function finishRotation(
  t: RotationTarget,
  o: Pick<RotateOptions, 'wait' | 'sleep' | 'say'> & { env: string; user: string },
): Promise<DeleteOutcome> {
  const retired = await retireOldKey(t);
  if (retired) o.say(`the old key ${retired} is inactive`);
  const out = await deleteWhenDue(t, o);
  sayDeletion(t, out, o.say, o.env, o.user);
  return out;
}

/** The user's keys and the secret's labelled versions, one line each. */
export async function keyStatus(t: RotationTarget, say: (line: string) => void): Promise<void> {
  const [keys, versions] = await Promise.all([listAccessKeys(t.iam, t.userName), listVersions(t.secrets, t.secretId)]);
  const held = new Map<string, string>();
  for (const v of versions) {
    try {
      held.set((await readKeyPair(t.secrets, t.secretId, { versionId: v.versionId })).accessKeyId, v.stages.join(','));
    } catch {
      // a version without a value (a rotation Secrets Manager opened): listed below
    }
  }
  say(`user ${t.userName} (${t.userArn}), secret ${t.secretId}`);
  if (!keys.length) say('  no access keys');
  for (const k of keys)
    say(
      `  key ${k.keyId}: ${k.status}, created ${k.created ? iso(k.created) : '?'}, ${held.has(k.keyId) ? `in the secret as ${held.get(k.keyId)}` : 'not in the secret'}`,
    );
  if (!versions.length) say('  the secret has no value yet: run `npm run keys -- rotate` to create the first key');
  for (const v of versions)
    say(`  version ${v.versionId}: ${v.stages.join(', ')}, stored ${v.created ? iso(v.created) : '?'}`);
}
