/**
 * The rotation of a user's access key (migrator/src/keys: rotation-steps.ts, rotate.ts), against IAM, Secrets Manager
 * and STS as aws-sdk-client-mock answers them (test/helpers/fake-keys.ts): the protocol's stages, the proof with a
 * key IAM has not propagated yet, the old key deactivated then deleted after the grace period (later, or waiting),
 * never more than two keys, resuming a rotation left half-done, and no secret in anything printed or logged.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createLogger } from '../../migrator/src/log';
import { KeyProofError } from '../../migrator/src/keys/prove-key';
import { finishRotation, keyStatus, rotateKey } from '../../migrator/src/keys/rotate';
import { createSecret, RotationRefused, type RotationTarget } from '../../migrator/src/keys/rotation-steps';
import { FakeKeys } from '../helpers/fake-keys';
import { tmpDirPerFile } from '../helpers/tmp';

const tmp = tmpDirPerFile('bm-keys-');
const DAY = 86_400_000;
const USER = 'chat-app-prod';
const ARN = `arn:aws:iam::210987654321:user/${USER}`;
const SECRET = `bucketmove/prod/${USER}/aws-credentials`;

interface Rig {
  fake: FakeKeys;
  t: RotationTarget;
  said: string[];
  logFile: string;
  advance(ms: number): void;
  sleeps: number[];
  /** Everything printed or logged so far. */
  output(): string;
}

const rigs: Rig[] = [];
afterAll(() => rigs.forEach((r) => r.fake.destroy()));

function rig(o: { graceDays?: number } = {}): Rig {
  let now = new Date('2026-11-30T10:00:00Z').getTime();
  const fake = new FakeKeys(USER, ARN, SECRET, () => new Date(now));
  const logFile = path.join(tmp(), 'keys.log');
  const said: string[] = [];
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    now += ms;
  };
  const t: RotationTarget = {
    iam: fake.iam,
    secrets: fake.secrets,
    secretId: SECRET,
    userName: USER,
    userArn: ARN,
    bucket: 'acme-chat-photos-prod',
    graceMs: (o.graceDays ?? 7) * DAY,
    prove: { clientsFor: fake.clientsFor, attempts: 5, pauseMs: 2000, sleep },
    log: createLogger({ name: 'test-keys', destination: logFile }),
    now: () => new Date(now),
  };
  const r: Rig = {
    fake,
    t,
    said,
    logFile,
    sleeps,
    advance: (ms) => (now += ms),
    output: () => `${said.join('\n')}\n${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''}`,
  };
  rigs.push(r);
  return r;
}

const rotate = (r: Rig, o: Partial<Parameters<typeof rotateKey>[1]> = {}) =>
  rotateKey(r.t, {
    env: 'prod',
    user: 'app',
    say: (l) => r.said.push(l),
    sleep: async (ms) => {
      r.sleeps.push(ms);
      r.advance(ms);
    },
    ...o,
  });
const finish = (r: Rig, o: { wait?: boolean } = {}) =>
  finishRotation(r.t, {
    env: 'prod',
    user: 'app',
    say: (l) => r.said.push(l),
    sleep: async (ms) => {
      r.sleeps.push(ms);
      r.advance(ms);
    },
    ...o,
  });
const logLines = (r: Rig) =>
  fs
    .readFileSync(r.logFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the first key (a new secret, a user with no key)', () => {
  it('creates it, tests it, makes it current; nothing to retire', async () => {
    const r = rig();
    const res = await rotate(r);
    expect(r.fake.keys.size).toBe(1);
    expect(r.fake.stagesByKey()).toEqual({ [res.newKeyId]: ['AWSCURRENT'] });
    expect(res).toMatchObject({ resumed: false, oldKeyId: undefined, deletion: { state: 'none' } });
    expect(r.said).toEqual([
      `user ${USER}: the new key ${res.newKeyId} is current in ${SECRET}`,
      `user ${USER} holds no old key`,
    ]);
  });
});

describe('a rotation of the key Terraform created (the move out of state)', () => {
  it('stages the protocol: AWSPENDING, tested, AWSCURRENT; the old version AWSPREVIOUS, its key deactivated, kept for the grace period', async () => {
    const r = rig();
    const old = r.fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    const res = await rotate(r);
    expect(res.oldKeyId).toBe(old);
    expect(r.fake.stagesByKey()).toEqual({ [res.newKeyId]: ['AWSCURRENT'], [old]: ['AWSPREVIOUS'] });
    expect([...r.fake.keys].map(([id, k]) => [id, k.status])).toEqual([
      [old, 'Inactive'],
      [res.newKeyId, 'Active'],
    ]);
    expect(res.deletion).toEqual({ state: 'waiting', keyId: old, until: new Date('2026-12-07T10:00:00Z') });
    expect(r.said).toEqual([
      `user ${USER}: the new key ${res.newKeyId} is current in ${SECRET} (it replaces ${old})`,
      `deactivated the old key ${old}`,
      `the old key ${old} is inactive and kept until 2026-12-07T10:00:00Z (the grace period); then run: npm run keys -- finish --env prod --user app`,
    ]);
    // The steps as logged, in order: the protocol's four, then the retirement.
    expect(logLines(r).map((l) => l.msg)).toEqual([
      'createSecret: created a new access key and stored it as AWSPENDING',
      'setSecret: nothing to set (IAM activates a key when it creates it)',
      `testSecret: the new key works as ${ARN} and reaches acme-chat-photos-prod`,
      'finishSecret: the new key is AWSCURRENT; the old version is AWSPREVIOUS',
      'deactivated the old key',
      'the old key stays (inactive) until its grace period is over',
    ]);
  });

  it('a later finish deletes the old key once the grace period is over, not before', async () => {
    const r = rig();
    const old = r.fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    const res = await rotate(r);
    r.advance(3 * DAY);
    expect(await finish(r)).toMatchObject({ state: 'waiting', keyId: old });
    expect(r.fake.keys.has(old)).toBe(true);
    r.advance(4 * DAY);
    expect(await finish(r)).toEqual({ state: 'deleted', keyId: old });
    expect([...r.fake.keys.keys()]).toEqual([res.newKeyId]);
    expect(await finish(r)).toEqual({ state: 'none' });
  });

  it('--wait waits out the grace period, then deletes the old key', async () => {
    const r = rig({ graceDays: 2 });
    const old = r.fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    const res = await rotate(r, { wait: true });
    expect(res.deletion).toEqual({ state: 'deleted', keyId: old });
    expect(r.sleeps).toEqual([2 * DAY]);
    expect(r.said).toContain(`waiting until 2026-12-02T10:00:00Z (the grace period) to delete the old key ${old}`);
  });

  it('--no-deactivate leaves the old key active (for an app that reads its keys when it starts); finish deactivates it', async () => {
    const r = rig();
    const old = r.fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    const res = await rotate(r, { deactivate: false });
    expect(res.deletion).toEqual({ state: 'active', keyId: old });
    expect(r.fake.keys.get(old)!.status).toBe('Active');
    expect(r.said.at(-1)).toBe(
      `the old key ${old} is still active: once nothing uses it any more, run: npm run keys -- finish --env prod --user app`,
    );
    expect(await finish(r)).toMatchObject({ state: 'waiting', keyId: old });
    expect(r.fake.keys.get(old)!.status).toBe('Inactive');
  });
});

describe('the proof of the new key (STS GetCallerIdentity and HeadBucket with it)', () => {
  it('retries while IAM has not propagated the key, a bounded number of times', async () => {
    const r = rig();
    r.fake.propagationRefusals = 3;
    const res = await rotate(r);
    expect(r.sleeps).toEqual([2000, 2000, 2000]);
    expect(r.fake.stagesByKey()[res.newKeyId]).toEqual(['AWSCURRENT']);
    const retries = logLines(r).filter(
      (l) => l.msg === 'testSecret: the new key is not valid yet (IAM propagates it); retrying',
    );
    expect(retries.map((l) => [l.check, l.attempt])).toEqual([
      ['sts', 1],
      ['sts', 2],
      ['sts', 3],
    ]);
  });

  it('gives up after the last try: the new key stays AWSPENDING, the old one current and active; a rerun resumes it', async () => {
    const r = rig();
    const old = r.fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    r.fake.propagationRefusals = 99;
    await expect(rotate(r)).rejects.toThrow(KeyProofError);
    await expect(rotate(r)).rejects.toThrow(
      /^the new key failed STS GetCallerIdentity \(InvalidClientTokenId, HTTP 403: The security token included in the request is invalid\.\) after 5 tries$/,
    );
    const pending = Object.entries(r.fake.stagesByKey()).find(([, s]) => s.includes('AWSPENDING'))![0];
    expect(r.fake.stagesByKey()).toEqual({ [old]: ['AWSCURRENT'], [pending]: ['AWSPENDING'] });
    expect(r.fake.keys.get(old)!.status).toBe('Active');
    // IAM catches up: the same pending key is tested again and promoted; no third key was ever made.
    r.fake.keys.get(pending)!.invisibleFor = 0;
    const res = await rotate(r);
    expect(res).toMatchObject({ resumed: true, newKeyId: pending, oldKeyId: old });
    expect(r.said).toContain(`resuming the unfinished rotation ${res.token} of user ${USER}`);
    expect(r.fake.maxKeys).toBe(2);
  });

  it('refuses a key that acts as someone else', async () => {
    const r = rig();
    r.fake.callerArn = 'arn:aws:iam::210987654321:user/someone-else';
    await expect(rotate(r)).rejects.toThrow(
      `the new key acts as arn:aws:iam::210987654321:user/someone-else, not ${ARN}`,
    );
  });
});

describe('never more than two keys', () => {
  it('a rotation within the grace period of the last one is refused, saying until when; after it, the retired key goes first', async () => {
    const r = rig();
    r.fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    const first = await rotate(r);
    let caught: unknown;
    try {
      await rotate(r);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RotationRefused);
    expect((caught as Error).message).toBe(
      `user ${USER} still holds the key ${first.oldKeyId} retired by the last rotation, kept until 2026-12-07T10:00:00Z (the grace period): rotate again after that, or run \`npm run keys -- finish\` with a shorter --grace`,
    );
    expect(r.fake.keys.size).toBe(2);
    r.advance(8 * DAY);
    const second = await rotate(r);
    expect([...r.fake.keys.keys()].sort()).toEqual([first.newKeyId, second.newKeyId].sort());
    expect(r.fake.stagesByKey()).toEqual({ [second.newKeyId]: ['AWSCURRENT'], [first.newKeyId]: ['AWSPREVIOUS'] });
    expect(r.fake.maxKeys).toBe(2);
  });

  it('a key the secret does not hold is left alone and the rotation refused, naming it and what to do', async () => {
    const r = rig();
    r.fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    r.fake.keys.set('AKIAMADEBYHAND000001', {
      status: 'Active',
      created: new Date('2026-06-01T00:00:00Z'),
      secret: 's',
      invisibleFor: 0,
    });
    await expect(rotate(r)).rejects.toThrow(
      `user ${USER} has the active key AKIAMADEBYHAND000001, which the secret ${SECRET} does not hold: it was made outside bucketmove; delete it (aws iam delete-access-key --user-name ${USER} --access-key-id AKIAMADEBYHAND000001) once nothing uses it, then rotate`,
    );
    expect(r.fake.keys.size).toBe(2);
  });

  it('the key of an abandoned rotation (AWSPENDING of another token, never current) is deleted to make room', async () => {
    const r = rig();
    const old = r.fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    r.fake.propagationRefusals = 99;
    await expect(rotate(r)).rejects.toThrow(KeyProofError);
    const abandoned = Object.entries(r.fake.stagesByKey()).find(([, s]) => s.includes('AWSPENDING'))![0];
    r.fake.propagationRefusals = 0;
    await createSecret(r.t, 'a-new-token-from-secrets-manager');
    expect(r.fake.keys.has(abandoned)).toBe(false);
    expect(r.fake.keys.size).toBe(2);
    expect(Object.keys(r.fake.stagesByKey())).toContain(old);
    expect(r.fake.maxKeys).toBe(2);
  });

  it('a key whose secret could not be stored is deleted again: no key lives that no secret records', async () => {
    const r = rig();
    r.fake.failNextPut = true;
    await expect(rotate(r)).rejects.toThrow(/InternalServiceError/);
    expect(r.fake.keys.size).toBe(0);
    expect(r.fake.versions.size).toBe(0);
  });
});

describe('nothing secret is printed or logged', () => {
  it('no secret half of any key appears in the lines printed, the JSON log, or the status', async () => {
    const r = rig();
    r.fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    r.fake.propagationRefusals = 2;
    await rotate(r);
    r.advance(8 * DAY);
    await finish(r);
    await keyStatus(r.t, (l) => r.said.push(l));
    expect(r.fake.issuedSecrets.length).toBe(2);
    const out = r.output();
    for (const secret of r.fake.issuedSecrets) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(JSON.stringify(secret).slice(1, -1));
    }
    expect(out).not.toMatch(/AWS_SECRET_ACCESS_KEY|SecretAccessKey|secretAccessKey/);
    // The status names keys and versions, nothing more.
    expect(r.said.slice(-4)).toEqual([
      `user ${USER} (${ARN}), secret ${SECRET}`,
      expect.stringMatching(/^ {2}key AKIA\w+: Active, created 2026-11-30T10:00:00Z, in the secret as AWSCURRENT$/),
      expect.stringMatching(/^ {2}version [\w-]+: AWSCURRENT, stored 2026-11-30T10:00:00Z$/),
      '  version terraform-version: AWSPREVIOUS, stored 2026-01-01T00:00:00Z',
    ]);
  });
});
