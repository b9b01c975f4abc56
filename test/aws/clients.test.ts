/**
 * The client factory's configuration, without a server: endpoints, credentials modes, transport, addressing, errors.
 */
import * as fs from 'fs';
import * as path from 'path';
import { AdaptiveRetryStrategy, StandardRetryStrategy } from '@smithy/util-retry';
import { loadWorkspace, type LoadedWorkspace } from '../../workspaces/load';
import { ConfigError } from '../../workspaces/errors';
import { bucketAddress } from '../../migrator/src/aws/bucket';
import { clientConfig, createClients, createSideClient } from '../../migrator/src/aws/clients';
import { migrationRoleArn, sessionName, staticCredentials } from '../../migrator/src/aws/credentials';
import { partitionOf } from '../../workspaces/arns';
import { resolveEndpoint } from '../../migrator/src/aws/endpoint';
import { describeAwsError, errorCodeOf, httpStatusOf } from '../../migrator/src/aws/errors';
import { createRetryStrategy, DEFAULT_TRANSPORT, transport } from '../../migrator/src/aws/http';
import { writeRigState, type RigState } from '../../migrator/src/aws/rig-state';
import { tmpDirPerFile } from '../helpers/tmp';

const tmpDir = tmpDirPerFile('bm-aws-');

function withEdits(env: string, edit: (ws: LoadedWorkspace) => void): LoadedWorkspace {
  const ws = structuredClone(loadWorkspace(env));
  edit(ws);
  return ws;
}

const keys = (id: string) => ({
  tenant: 't',
  arn: `arn:aws:iam::t:user/${id}`,
  accessKeyId: `AK${id}`,
  secretAccessKey: `SK${id}`,
});
function fakeRigState(endpoint = 'http://127.0.0.1:1'): RigState {
  return {
    version: 1,
    kind: 'rig',
    endpoint,
    region: 'us-east-1',
    tenants: { legacy: 'legacy', primary: 'primary' },
    buckets: { legacy: 'chatapp-legacy-photos', primary: 'chat-photos-local' },
    principals: {
      legacyAdmin: keys('la'),
      primaryAdmin: keys('pa'),
      migrator: keys('mig'),
      primaryApp: keys('app'),
      legacyApp: keys('lapp'),
    },
    roles: {
      reader: { arn: 'arn:aws:iam::legacy:role/r', externalIdCondition: false },
      writer: { arn: 'arn:aws:iam::primary:role/w', externalIdCondition: false },
    },
  };
}

describe('endpoints', () => {
  test('"rig" resolves through the state file; the legacy side may have its own region', () => {
    const statePath = path.join(tmpDir(), 'state.json');
    writeRigState(statePath, fakeRigState('http://127.0.0.1:4321'));
    const ws = withEdits('local', (w) => (w.legacy.region = 'eu-west-1'));
    const legacy = resolveEndpoint(ws, 'legacy', { rigStatePath: statePath });
    expect(legacy).toMatchObject({
      url: 'http://127.0.0.1:4321',
      s3Compatible: true,
      region: 'eu-west-1',
      accountId: 'legacy',
    });
    expect(legacy.rig?.principals.migrator.accessKeyId).toBe('AKmig');
    expect(resolveEndpoint(ws, 'primary', { rigStatePath: statePath }).region).toBe('us-east-1');
  });

  test('an unreadable rig state is one ConfigError line saying how to start the rig', () => {
    const missing = path.join(tmpDir(), 'nope.json');
    expect(() => resolveEndpoint(loadWorkspace('local'), 'legacy', { rigStatePath: missing })).toThrow(
      new ConfigError(
        `cannot read the rig state file ${missing} (ENOENT): start the local S3 with \`npm run rig -- start\`, or set BUCKETMOVE_RIG_STATE to the state file of a running one`,
      ),
    );
    const garbled = path.join(tmpDir(), 'bad.json');
    fs.writeFileSync(garbled, '{"version": 1');
    expect(() => resolveEndpoint(loadWorkspace('local'), 'legacy', { rigStatePath: garbled })).toThrow(
      /is not valid JSON: stop and restart the rig/,
    );
    fs.writeFileSync(garbled, '{"version": 1, "kind": "rig"}');
    expect(() => resolveEndpoint(loadWorkspace('local'), 'legacy', { rigStatePath: garbled })).toThrow(
      /is not a rig state \(endpoint: /,
    );
  });

  test('AWS workspaces use the SDK endpoints: no URL, not S3-compatible', () => {
    expect(resolveEndpoint(loadWorkspace('prod'), 'primary')).toMatchObject({ url: undefined, s3Compatible: false });
  });
});

describe('client settings', () => {
  test('S3-compatible: path-style and checksums only when required; AWS: the SDK defaults', async () => {
    const compat = clientConfig({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', s3Compatible: true });
    expect(compat).toMatchObject({
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      region: 'us-east-1',
    });
    const aws = clientConfig({ region: 'eu-west-1', s3Compatible: false });
    expect(aws).not.toHaveProperty('forcePathStyle');
    expect(aws).not.toHaveProperty('requestChecksumCalculation');
    expect(aws).not.toHaveProperty('endpoint');
  });

  test('the transport: defaults, overrides, and one-line refusals', () => {
    expect(transport()).toEqual(DEFAULT_TRANSPORT);
    expect(transport({ maxAttempts: 2, maxSockets: undefined })).toEqual({ ...DEFAULT_TRANSPORT, maxAttempts: 2 });
    expect(() => transport({ maxAttempts: 0 })).toThrow('maxAttempts must be an integer >= 1 (got 0)');
    expect(() => transport({ maxSockets: 1.5 })).toThrow('maxSockets must be an integer >= 1 (got 1.5)');
    expect(() => transport({ idleTimeoutMs: -1 })).toThrow('idleTimeoutMs must be a number >= 0 (got -1)');
  });

  test('the SDK retry strategy: adaptive or standard, with the configured attempts', async () => {
    const adaptive = createRetryStrategy(transport({ maxAttempts: 4 }));
    expect(adaptive).toBeInstanceOf(AdaptiveRetryStrategy);
    expect(await (adaptive as AdaptiveRetryStrategy).maxAttemptsProvider()).toBe(4);
    const standard = createRetryStrategy(transport({ retryMode: 'standard', maxAttempts: 7 }));
    expect(standard).toBeInstanceOf(StandardRetryStrategy);
    expect(await (standard as StandardRetryStrategy).maxAttempts()).toBe(7);
  });
});

describe('credentials', () => {
  const urlWs = withEdits('local', (w) => {
    w.legacy.endpoint = 'http://127.0.0.1:9';
    w.primary.endpoint = 'http://127.0.0.1:9';
  });

  test("static keys come from each side's own variables", async () => {
    const env = {
      AWS_ACCESS_KEY_ID: 'AKP',
      AWS_SECRET_ACCESS_KEY: 'SKP',
      LEGACY_AWS_ACCESS_KEY_ID: 'AKL',
      LEGACY_AWS_SECRET_ACCESS_KEY: 'SKL',
      LEGACY_AWS_SESSION_TOKEN: 'TOK',
    };
    const clients = createClients(urlWs, { credentials: 'static', env });
    expect(await clients.primary.s3.config.credentials()).toMatchObject({ accessKeyId: 'AKP', secretAccessKey: 'SKP' });
    expect(await clients.legacy.s3.config.credentials()).toMatchObject({
      accessKeyId: 'AKL',
      secretAccessKey: 'SKL',
      sessionToken: 'TOK',
    });
    Object.values(clients).forEach((c) => c.destroy());
  });

  test('a half-set pair is refused even on the rig', () => {
    const endpoint = { s3Compatible: true, region: 'us-east-1', accountId: 'primary', rig: fakeRigState() };
    expect(() => staticCredentials('primary', endpoint, { AWS_ACCESS_KEY_ID: 'AKP' })).toThrow(
      /^missing AWS_SECRET_ACCESS_KEY: the primary side uses static keys/,
    );
    expect(staticCredentials('primary', endpoint, {})).toEqual({ accessKeyId: 'AKapp', secretAccessKey: 'SKapp' });
    expect(staticCredentials('legacy', endpoint, {})).toEqual({ accessKeyId: 'AKlapp', secretAccessKey: 'SKlapp' });
  });

  test("assume-role: the side's role ARN (partition from the region), ExternalId, session name", () => {
    const prod = loadWorkspace('prod');
    expect(migrationRoleArn(prod, 'legacy', 'eu-west-1')).toBe(
      `arn:aws:iam::${prod.legacy.accountId}:role/${prod.legacy.readerRoleName}`,
    );
    expect(migrationRoleArn(prod, 'primary', 'cn-north-1')).toBe(
      `arn:aws-cn:iam::${prod.primary.accountId}:role/${prod.primary.writerRoleName}`,
    );
    expect(partitionOf('us-gov-west-1')).toBe('aws-us-gov');
    expect(sessionName(prod, 'legacy')).toMatch(/^bucketmove-prod-legacy-\d+$/);
    const c = createSideClient(urlWs, 'legacy', {
      credentials: 'assume-role',
      master: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    expect(c.mode).toBe('assume-role');
    expect(c.roleArn).toBe('arn:aws:iam::legacy:role/bucketmove-migration-reader');
    c.destroy();
  });

  test("the workspace's migration.credentials is the default mode", () => {
    const ws = withEdits('local', (w) => {
      w.migration.credentials = 'static';
      w.legacy.endpoint = 'http://127.0.0.1:9';
    });
    const c = createSideClient(ws, 'legacy', {
      env: { LEGACY_AWS_ACCESS_KEY_ID: 'a', LEGACY_AWS_SECRET_ACCESS_KEY: 'b' },
    });
    expect(c.mode).toBe('static');
    c.destroy();
  });
});

describe('bucket addressing on RGW', () => {
  test("bare in the caller's own account (and always on AWS); tenant:bucket across tenants", () => {
    const base = { bucket: 'photos', bucketAccount: 'legacy' };
    expect(bucketAddress({ ...base, callerAccount: 'legacy', s3Compatible: true })).toBe('photos');
    expect(bucketAddress({ ...base, callerAccount: 'primary', s3Compatible: true })).toBe('legacy:photos');
    expect(bucketAddress({ ...base, callerAccount: 'primary', s3Compatible: false })).toBe('photos');
  });
});

describe('reading SDK errors', () => {
  test('status, code and one line, for parsed S3 errors and for RGW IAM/STS errors the SDK calls Unknown', () => {
    const s3 = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(httpStatusOf(s3)).toBe(403);
    expect(errorCodeOf(s3)).toBe('AccessDenied');
    expect(describeAwsError(s3)).toBe('AccessDenied, HTTP 403: Access Denied');
    const rgw = Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 403 } });
    expect(errorCodeOf(rgw)).toBeUndefined();
    expect(describeAwsError(rgw)).toBe('HTTP 403');
    const net = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9\n    at x'), { code: 'ECONNREFUSED' });
    expect(httpStatusOf(net)).toBeUndefined();
    expect(describeAwsError(net)).toBe('connect ECONNREFUSED 127.0.0.1:9');
  });
});
