/**
 * Where the gateway gets the app's keys (migrator/src/gateway/main.ts appCredentials): the two variables, or a Secrets
 * Manager secret in the project's key layout (AWS's behaviour mocked with aws-sdk-client-mock: AWSCURRENT is asked
 * for). Problems are one-line ConfigErrors that never hold the secret.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError } from '../../workspaces/errors';
import { appCredentials, type Args } from '../../migrator/src/gateway/main';

const sm = mockClient(SecretsManagerClient);
afterEach(() => sm.reset());
afterAll(() => sm.restore());

const args = (secret?: string) => ({ 'credentials-secret': secret }) as Args;

test('from BUCKETMOVE_GATEWAY_ACCESS_KEY_ID / _SECRET_ACCESS_KEY', async () => {
  expect(
    await appCredentials(args(), 'eu-west-1', {
      BUCKETMOVE_GATEWAY_ACCESS_KEY_ID: ' AKID ',
      BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY: 's3cr3t',
    }),
  ).toEqual([{ accessKeyId: 'AKID', secretAccessKey: 's3cr3t' }]);
  await expect(appCredentials(args(), 'eu-west-1', { BUCKETMOVE_GATEWAY_ACCESS_KEY_ID: 'AKID' })).rejects.toThrow(
    new ConfigError(
      "missing BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY: set the app's access key (the one it signs requests with) there, or name a secret with --credentials-secret",
    ),
  );
});

test("from a Secrets Manager secret's AWSCURRENT version, in the project's key layout", async () => {
  sm.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ AWS_ACCESS_KEY_ID: 'AKIDSM', AWS_SECRET_ACCESS_KEY: 'from-the-secret' }),
  });
  expect(await appCredentials(args('bucketmove/prod/app-keys'), 'eu-west-1', {})).toEqual([
    { accessKeyId: 'AKIDSM', secretAccessKey: 'from-the-secret' },
  ]);
  expect(sm.commandCalls(GetSecretValueCommand)[0].args[0].input).toMatchObject({
    SecretId: 'bucketmove/prod/app-keys',
    VersionStage: 'AWSCURRENT',
  });
});

test('a secret that is not a key pair, or cannot be read, is one ConfigError line without its value', async () => {
  sm.on(GetSecretValueCommand).resolves({ SecretString: '{"password":"hunter2-never-shown"}' });
  const err = (await appCredentials(args('bucketmove/prod/app-keys'), 'eu-west-1', {}).catch(
    (e: unknown) => e,
  )) as Error;
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toContain('--credentials-secret bucketmove/prod/app-keys');
  expect(err.message).not.toContain('hunter2');
  sm.reset();
  sm.on(GetSecretValueCommand).rejects(
    Object.assign(new Error('User is not authorized to perform: secretsmanager:GetSecretValue'), {
      name: 'AccessDeniedException',
    }),
  );
  await expect(appCredentials(args('bucketmove/prod/app-keys'), 'eu-west-1', {})).rejects.toThrow(
    /AccessDeniedException: User is not authorized/,
  );
});

test("the workspace's gateway.appCredentialsSecret when neither --credentials-secret nor the variables are given", async () => {
  sm.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ AWS_ACCESS_KEY_ID: 'AKIDWS', AWS_SECRET_ACCESS_KEY: 'from-the-workspace-secret' }),
  });
  expect(await appCredentials(args(), 'eu-west-1', {}, 'bucketmove/staging/gateway-app-keys')).toEqual([
    { accessKeyId: 'AKIDWS', secretAccessKey: 'from-the-workspace-secret' },
  ]);
  expect(sm.commandCalls(GetSecretValueCommand)[0].args[0].input.SecretId).toBe('bucketmove/staging/gateway-app-keys');
  // The variables win over the workspace's secret; the flag wins over both.
  const vars = { BUCKETMOVE_GATEWAY_ACCESS_KEY_ID: 'AKIDENV', BUCKETMOVE_GATEWAY_SECRET_ACCESS_KEY: 'env' };
  expect(await appCredentials(args(), 'eu-west-1', vars, 'bucketmove/staging/gateway-app-keys')).toEqual([
    { accessKeyId: 'AKIDENV', secretAccessKey: 'env' },
  ]);
  expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  sm.on(GetSecretValueCommand).rejects(
    Object.assign(new Error('no such secret'), { name: 'ResourceNotFoundException' }),
  );
  await expect(appCredentials(args(), 'eu-west-1', {}, 'nope')).rejects.toThrow(
    /^cannot read the app's keys from the workspace's gateway.appCredentialsSecret nope: ResourceNotFoundException/,
  );
});
