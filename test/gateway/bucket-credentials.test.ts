/**
 * The gateway's own credentials to the buckets (migrator/src/gateway/main.ts bucketCredentials): the AWS_* keys by
 * default, the SDK's default chain with --ambient-credentials (the ECS task role or instance profile the stacks'
 * gateway role is), or --role-arn assumed with fromTemporaryCredentials. STS is AWS's, mocked with aws-sdk-client-mock.
 * And the store then reaches both buckets with that one provider, reading neither AWS_* nor LEGACY_AWS_*.
 */
// fromTemporaryCredentials calls STS through the SDK's nested STS client, so that is the one mocked.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/nested-clients/sts';
import { mockClient } from 'aws-sdk-client-mock';
import { bucketCredentials } from '../../migrator/src/gateway/main';
import { storeConfigFromEnv } from '../../migrator/src/store';
import { loadWorkspace } from '../../workspaces/load';
import { ConfigError, UsageError } from '../../workspaces/errors';

const sts = mockClient(STSClient);
afterEach(() => sts.reset());
afterAll(() => sts.restore());

const staging = loadWorkspace('staging'); // gateway.enabled
const prod = loadWorkspace('prod'); // not
const at = { region: 'eu-west-1' };
const MASTER = { AWS_ACCESS_KEY_ID: 'AKIDHOST', AWS_SECRET_ACCESS_KEY: 'host-secret' };

let saved: NodeJS.ProcessEnv;
beforeEach(() => {
  saved = { ...process.env };
  Object.assign(process.env, MASTER);
});
afterEach(() => {
  process.env = saved;
});

/** STS answers AssumeRole with a session of this key id (valid for an hour). */
const stsGrants = (accessKeyId: string) =>
  sts.on(AssumeRoleCommand).resolves({
    Credentials: {
      AccessKeyId: accessKeyId,
      SecretAccessKey: 'role-secret',
      SessionToken: 'token',
      Expiration: new Date(Date.now() + 3600_000),
    },
  });

test('neither flag: undefined (the store reads AWS_* and LEGACY_AWS_*)', () => {
  expect(bucketCredentials({}, staging, at)).toBeUndefined();
});

test('--role-arn workspace assumes the workspace gateway role, without an ExternalId, and refreshes from STS', async () => {
  stsGrants('ASIAGATEWAY');
  const provider = bucketCredentials({ 'role-arn': 'workspace' }, staging, at);
  expect(typeof provider).toBe('function');
  const creds = await (provider as () => Promise<{ accessKeyId: string; sessionToken?: string }>)();
  expect(creds).toMatchObject({ accessKeyId: 'ASIAGATEWAY', sessionToken: 'token' });
  const input = sts.commandCalls(AssumeRoleCommand)[0].args[0].input;
  expect(input.RoleArn).toBe(`arn:aws:iam::${staging.primary.accountId}:role/${staging.gateway.roleName}`);
  expect(input.RoleSessionName).toMatch(/^gateway-staging-primary-\d+$/);
  expect(input).not.toHaveProperty('ExternalId');
});

test('--role-arn <arn> assumes that role', async () => {
  stsGrants('ASIA2');
  const arn = 'arn:aws:iam::210987654321:role/some-gateway';
  const provider = bucketCredentials({ 'role-arn': arn }, prod, at) as () => Promise<unknown>;
  await provider();
  expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input.RoleArn).toBe(arn);
});

test('refuses, in one line: a role ARN that is not one, "workspace" without a gateway role, both flags', () => {
  expect(() => bucketCredentials({ 'role-arn': 'bucketmove-gateway' }, prod, at)).toThrow(
    new UsageError(
      '--role-arn must be an IAM role ARN such as arn:aws:iam::111122223333:role/bucketmove-gateway, or "workspace" (got "bucketmove-gateway")',
    ),
  );
  expect(() => bucketCredentials({ 'role-arn': 'arn:aws:iam::210987654321:user/app' }, prod, at)).toThrow(UsageError);
  expect(() => bucketCredentials({ 'role-arn': 'workspace' }, prod, at)).toThrow(
    new ConfigError(
      "--role-arn workspace: the workspace prod has no gateway role (set gateway.enabled and deploy its stacks), or give the role's ARN",
    ),
  );
  expect(() => bucketCredentials({ 'role-arn': 'workspace', 'ambient-credentials': true }, staging, at)).toThrow(
    new UsageError('--role-arn and --ambient-credentials exclude each other: give one'),
  );
});

test('--ambient-credentials: the default chain (here the host keys of the environment)', async () => {
  const provider = bucketCredentials({ 'ambient-credentials': true }, staging, at) as () => Promise<{
    accessKeyId: string;
  }>;
  expect((await provider()).accessKeyId).toBe('AKIDHOST');
  expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
});

test('the store takes the one provider for both buckets and then needs neither AWS_* nor LEGACY_AWS_* keys', () => {
  const provider = async () => ({ accessKeyId: 'ASIA', secretAccessKey: 's' });
  const env = {
    PHOTO_STORE_MODE: 'dual-read',
    PHOTO_STORE_BUCKET: 'new-b',
    PHOTO_STORE_LEGACY_BUCKET: 'old-b',
    AWS_REGION: 'eu-west-1',
  };
  expect(() => storeConfigFromEnv(env)).toThrow(/missing AWS_ACCESS_KEY_ID/);
  const config = storeConfigFromEnv(env, { credentials: provider });
  expect(config.primary!.credentials).toBe(provider);
  expect(config.legacy!.credentials).toBe(provider);
});
