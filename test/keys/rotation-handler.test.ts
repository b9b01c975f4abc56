/**
 * The scheduled rotation function (migrator/src/keys/rotation-handler.ts), invoked as Secrets Manager invokes it:
 * once per step with {SecretId, ClientRequestToken, Step}, after opening the version `token` as AWSPENDING. IAM,
 * Secrets Manager and STS are answered by aws-sdk-client-mock (test/helpers/fake-keys.ts); Terraform Cloud by a stub
 * fetch that records the calls.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createLogger } from '../../migrator/src/log';
import { createRotationHandler, type RotationEvent } from '../../migrator/src/keys/rotation-handler';
import { workspaceForFunction } from '../../stacks/batch-operations';
import { WORKSPACE_ENV_VAR } from '../../workspaces/batch-layout';
import { loadWorkspace } from '../../workspaces/load';
import { FakeKeys } from '../helpers/fake-keys';
import { tmpDirPerFile } from '../helpers/tmp';

const tmp = tmpDirPerFile('bm-rot-fn-');
const prod = loadWorkspace('prod');
const USER = prod.primary.appUser.name;
const SECRET = `bucketmove/prod/${USER}/aws-credentials`;
const SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:210987654321:secret:${SECRET}-AbCdEf`;
const TFC_TOKEN = 'tfc-token-in-secrets-manager.TESTONLY';
const DAY = 86_400_000;

let fake: FakeKeys | undefined;
afterEach(() => fake?.destroy());

interface Fn {
  (event: RotationEvent): Promise<void>;
  fake: FakeKeys;
  tfcCalls: string[];
  logFile: string;
  advance(ms: number): void;
}

function rotationFunction(o: { userName?: string; ws?: typeof prod } = {}): Fn {
  const ws = o.ws ?? prod;
  const userName = o.userName ?? USER;
  let now = new Date('2026-11-30T10:00:00Z').getTime();
  fake = new FakeKeys(
    userName,
    `arn:aws:iam::210987654321:user/${userName}`,
    `bucketmove/${ws.env}/${userName}/aws-credentials`,
    () => new Date(now),
    { everyClient: true },
  );
  fake.rotationEnabled = true;
  fake.otherSecrets.set(ws.terraformCloud?.app?.tokenSecret ?? 'none', TFC_TOKEN);
  const logFile = path.join(tmp(), 'fn.log');
  const tfcCalls: string[] = [];
  const fetchStub = (async (url: string | URL, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const auth =
      (init?.headers as Record<string, string>).Authorization === `Bearer ${TFC_TOKEN}`
        ? 'with the token'
        : 'WITHOUT the token';
    tfcCalls.push(`${method} ${String(url)} ${auth}`);
    const doc = method === 'GET' && String(url).endsWith('/vars') ? { data: [] } : { data: { id: 'ws-app1' } };
    return new Response(JSON.stringify(doc), { status: method === 'POST' ? 201 : 200 });
  }) as typeof fetch;
  const handler = createRotationHandler({
    env: { [WORKSPACE_ENV_VAR]: workspaceForFunction(ws) },
    log: createLogger({ name: 'test-rotation-fn', destination: logFile }),
    target: {
      credentials: { accessKeyId: 'AKIAFUNCTIONROLE0001', secretAccessKey: 'x' },
      now: () => new Date(now),
      sleep: async () => undefined,
      clientsFor: fake.clientsFor,
    },
    fetch: fetchStub,
  });
  return Object.assign(handler, { fake, tfcCalls, logFile, advance: (ms: number) => (now += ms) });
}

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
async function rotation(fn: Fn, token: string, secretId = SECRET_ARN): Promise<void> {
  fn.fake.openRotation(token);
  for (const Step of STEPS) await fn({ SecretId: secretId, ClientRequestToken: token, Step });
}

it('the first rotation after deploy (rotate_immediately) creates the first key of a secret Terraform left empty', async () => {
  const fn = rotationFunction();
  await rotation(fn, 'token-first');
  const [only] = fn.fake.keys.keys();
  // finishSecret moves AWSCURRENT only, as AWS's rotation function templates do; AWSPENDING moves on with the next
  // rotation's version.
  expect(fn.fake.stagesByKey()).toEqual({ [only]: ['AWSCURRENT', 'AWSPENDING'] });
  expect(fn.fake.keys.get(only)!.status).toBe('Active');
});

it("a scheduled rotation: new key current, written to the app's Terraform Cloud workspace; the old key stays usable until the next rotation deletes it", async () => {
  const fn = rotationFunction();
  const old = fn.fake.seedCurrentKey(new Date('2026-08-01T00:00:00Z'));
  await rotation(fn, 'token-1');
  const current = Object.entries(fn.fake.stagesByKey()).find(([, s]) => s.includes('AWSCURRENT'))![0];
  expect(fn.fake.stagesByKey()).toEqual({ [current]: ['AWSCURRENT', 'AWSPENDING'], [old]: ['AWSPREVIOUS'] });
  // An app that reads its key when it starts keeps working until it restarts: the old key is left active.
  expect(fn.fake.keys.get(old)!.status).toBe('Active');
  expect(fn.tfcCalls).toEqual([
    'GET https://app.terraform.io/api/v2/organizations/acme-health/workspaces/chat-app-prod with the token',
    'GET https://app.terraform.io/api/v2/workspaces/ws-app1/vars with the token',
    'POST https://app.terraform.io/api/v2/workspaces/ws-app1/vars with the token',
    'POST https://app.terraform.io/api/v2/workspaces/ws-app1/vars with the token',
  ]);
  // A period (45 days) later: the key the last rotation replaced goes first (never more than two), then the next one.
  fn.advance(45 * DAY);
  await rotation(fn, 'token-2');
  expect(fn.fake.keys.has(old)).toBe(false);
  expect(fn.fake.keys.size).toBe(2);
  expect(fn.fake.maxKeys).toBe(2);
  const log = fs.readFileSync(fn.logFile, 'utf8');
  expect(log).not.toContain(TFC_TOKEN);
  for (const secret of fn.fake.issuedSecrets) expect(log).not.toContain(secret);
});

it('a step retried by Secrets Manager is a no-op once done (each step is idempotent for its token)', async () => {
  const fn = rotationFunction();
  fn.fake.seedCurrentKey(new Date('2026-08-01T00:00:00Z'));
  await rotation(fn, 'token-1');
  const before = JSON.stringify([...fn.fake.keys.keys(), fn.fake.stagesByKey()]);
  for (const Step of STEPS) await fn({ SecretId: SECRET_ARN, ClientRequestToken: 'token-1', Step });
  expect(JSON.stringify([...fn.fake.keys.keys(), fn.fake.stagesByKey()])).toBe(before);
});

it('refuses what the protocol refuses: rotation not enabled, a token not staged, a secret of another user, a malformed event', async () => {
  const fn = rotationFunction();
  await expect(fn({ SecretId: SECRET_ARN, ClientRequestToken: 'never-opened', Step: 'createSecret' })).rejects.toThrow(
    `secret ${SECRET} has no version never-opened staged for rotation`,
  );
  fn.fake.rotationEnabled = false;
  fn.fake.openRotation('t');
  await expect(fn({ SecretId: SECRET_ARN, ClientRequestToken: 't', Step: 'createSecret' })).rejects.toThrow(
    `secret ${SECRET} does not have rotation enabled`,
  );
  await expect(
    fn({ SecretId: SECRET_ARN, ClientRequestToken: 't', Step: 'rotate' } as unknown as RotationEvent),
  ).rejects.toThrow(/^invalid rotation event/);
  fake!.destroy();
  const stranger = rotationFunction({ userName: 'someone-else' });
  stranger.fake.openRotation('t');
  await expect(
    stranger({
      SecretId: 'bucketmove/prod/someone-else/aws-credentials',
      ClientRequestToken: 't',
      Step: 'createSecret',
    }),
  ).rejects.toThrow(/^secret bucketmove\/prod\/someone-else\/aws-credentials is not a credentials secret of env prod/);
  expect(stranger.fake.keys.size).toBe(0);
});
