/** The rig's pieces that need no server: the state file, what it creates from a workspace, its install step. */
import * as fs from 'fs';
import * as path from 'path';
import { loadWorkspace, type LoadedWorkspace } from '../../workspaces/load';
import { plannedUsers } from '../../migrator/rig/accounts';
import { expectedComm, isOurs, killDaemons, RigError } from '../../migrator/rig/cluster';
import { appUserPolicy, readerRolePolicy, trustPolicy, writerRolePolicy } from '../../migrator/rig/grants';
import { ensurePackages, InstallError, SERVER_PACKAGES } from '../../migrator/rig/install';
import { rigKmsKeyId } from '../../migrator/rig/rig';
import { readRigState, rigStatePath, writeRigState, type RigState } from '../../migrator/rig/state';
import { awsCliEnv } from '../../migrator/rig/aws-cli';
import { tmpDirPerFile } from '../helpers/tmp';

const tmpDir = tmpDirPerFile('bm-rig-');

function local(edit: (ws: LoadedWorkspace) => void = () => {}): LoadedWorkspace {
  const ws = structuredClone(loadWorkspace('local'));
  edit(ws);
  return ws;
}

describe('state file', () => {
  test('path: BUCKETMOVE_RIG_STATE, else .rig/state.json at the repository root', () => {
    expect(rigStatePath({ BUCKETMOVE_RIG_STATE: '/x/y.json' })).toBe('/x/y.json');
    expect(rigStatePath({})).toBe(path.resolve(__dirname, '..', '..', '.rig', 'state.json'));
  });

  test('written with mode 0600 and read back', () => {
    const file = path.join(tmpDir(), 'sub', 'state.json');
    const p = { tenant: 'legacy', arn: 'arn:aws:iam::legacy:user/admin', accessKeyId: 'A', secretAccessKey: 'S' };
    const state: RigState = {
      version: 1,
      kind: 'external',
      endpoint: 'http://10.0.0.5:7480',
      region: 'us-east-1',
      tenants: { legacy: 'legacy', primary: 'primary' },
      buckets: { legacy: 'a-bucket', primary: 'b-bucket' },
      principals: { legacyAdmin: p, primaryAdmin: p, migrator: p, primaryApp: p, legacyApp: p },
      roles: { reader: { arn: 'arn:aws:iam::legacy:role/r', externalIdCondition: true }, writer: { arn: 'arn:aws:iam::primary:role/w', externalIdCondition: true } },
    };
    writeRigState(file, state);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readRigState(file)).toEqual(state);
  });
});

describe('what the rig creates from a workspace', () => {
  test('from local.json: both admins, both app users and the migrator, in their tenants', () => {
    const { users, migratorKey } = plannedUsers(local());
    expect(migratorKey).toBe('migrator');
    expect(Object.fromEntries(Object.entries(users).map(([k, u]) => [k, `${u.tenant}$${u.uid}`]))).toEqual({
      legacyAdmin: 'legacy$admin',
      primaryAdmin: 'primary$admin',
      primaryApp: 'primary$chat-app',
      legacyApp: 'legacy$chatapp-s3',
      migrator: 'primary$migrator',
    });
    expect(users.legacyAdmin.caps).toBe('roles=*;user-policy=*');
    expect(users.migrator.caps).toBeUndefined();
  });

  test('names come from the workspace file', () => {
    const { users } = plannedUsers(
      local((w) => {
        w.legacy.accountId = 'oldco';
        w.primary.accountId = 'newco';
        w.primary.appUser.name = 'photos-app';
        w.migration.principals = ['arn:aws:iam::newco:user/mover'];
      }),
    );
    expect(users.legacyAdmin.tenant).toBe('oldco');
    expect(users.primaryApp).toMatchObject({ tenant: 'newco', uid: 'photos-app' });
    expect(users.migrator).toMatchObject({ tenant: 'newco', uid: 'mover' });
  });

  test.each([
    ['an AWS workspace', () => loadWorkspace('prod'), /^workspace prod targets AWS; the rig needs a workspace with "target": "s3-compatible"$/],
    ['one tenant for both', () => local((w) => (w.primary.accountId = 'legacy')), /both "legacy"; the rig needs two tenants$/],
    ['a role as principal', () => local((w) => (w.migration.principals = ['arn:aws:iam::primary:role/mover'])), /can only create users of its two tenants/],
    ['no primary user', () => local((w) => (w.migration.principals = ['arn:aws:iam::legacy:user/mover'])), /names no user of the primary tenant "primary"/],
    ['a name clash', () => local((w) => (w.primary.appUser.name = 'admin')), /names user "primary\$admin" twice/],
  ])('refuses %s with one line', (_what, make, message) => {
    expect(() => plannedUsers(make())).toThrow(RigError);
    expect(() => plannedUsers(make())).toThrow(message);
  });

  test('the grants: app users read/write/list/delete their bucket; reader reads; writer writes and may delete (undo)', () => {
    expect(appUserPolicy('b').Statement).toEqual([
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: ['arn:aws:s3:::b'] },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObjectTagging', 's3:DeleteObject'],
        Resource: ['arn:aws:s3:::b/*'],
      },
    ]);
    expect(readerRolePolicy('b').Statement.flatMap((s) => s.Action)).toEqual(['s3:ListBucket', 's3:GetObject', 's3:GetObjectVersion']);
    expect(writerRolePolicy('b').Statement.flatMap((s) => s.Action)).toContain('s3:DeleteObject');
    expect(writerRolePolicy('b').Statement.flatMap((s) => s.Action)).not.toContain('s3:DeleteObjectVersion');
    expect(trustPolicy(['arn:aws:iam::primary:user/migrator'], 'x').Statement[0].Condition).toEqual({ StringEquals: { 'sts:ExternalId': 'x' } });
    expect(trustPolicy(['arn:aws:iam::primary:user/migrator']).Statement[0]).not.toHaveProperty('Condition');
  });

  test('the KMS key id is an ARN the workspace schema accepts', () => {
    const ws = local((w) => (w.primary.encryption = { type: 'SSE-KMS', kmsKeyArn: rigKmsKeyId('us-east-1'), bucketKey: true }));
    const { file: _f, ...json } = ws;
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'local.json'), JSON.stringify(json));
    expect(loadWorkspace('local', dir).primary.encryption).toEqual({ type: 'SSE-KMS', kmsKeyArn: rigKmsKeyId('us-east-1'), bucketKey: true });
  });
});

describe('stopping kills only our own processes', () => {
  test('a PID is ours only with the expected program and our directory on its command line', () => {
    expect(expectedComm('mon')).toBe('ceph-mon');
    expect(expectedComm('watchdog')).toBe('sh');
    expect(expectedComm('bash')).toBeUndefined();
    // This test process is node, but its command line does not name a rig directory.
    expect(isOurs(process.pid, 'node', '/tmp/bucketmove-rig-not-this')).toBe(false);
    expect(killDaemons({ rgw: process.pid, mon: process.pid }, '/tmp/bucketmove-rig-not-this')).toEqual([]);
  });
});

describe('install step', () => {
  const none = () => false;
  test('nothing to do when the programs are there', () => {
    expect(ensurePackages(SERVER_PACKAGES, undefined, { installed: () => true, isDebian: none, isRoot: none })).toEqual([]);
  });

  test('not Debian: one line on what to do instead', () => {
    expect(() => ensurePackages(SERVER_PACKAGES, undefined, { installed: none, isDebian: none, isRoot: () => true })).toThrow(
      new InstallError(
        'missing ceph-mon, ceph-osd, radosgw, ceph-common, ceph-base, and this is not a Debian system: install Ceph (radosgw, ceph-mon, ceph-osd) and the AWS CLI v2 yourself, or point the tests at another S3 endpoint with BUCKETMOVE_TEST_STATE',
      ),
    );
  });

  test('not root: the exact command to run', () => {
    expect(() => ensurePackages(SERVER_PACKAGES, undefined, { installed: (b) => b !== 'radosgw', isDebian: () => true, isRoot: none })).toThrow(
      new InstallError(
        'missing Debian packages radosgw: run `sudo apt-get update && sudo apt-get install -y --no-install-recommends radosgw` (the rig installs them itself only as root)',
      ),
    );
  });
});

describe('the AWS CLI environment', () => {
  test("only the given keys and region, path-style, none of the caller's AWS settings", () => {
    const env = awsCliEnv({ accessKeyId: 'AK', secretAccessKey: 'SK' }, 'us-east-1');
    expect(env).toMatchObject({ AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK', AWS_DEFAULT_REGION: 'us-east-1', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' });
    expect(env).not.toHaveProperty('AWS_CA_BUNDLE');
    expect(env).not.toHaveProperty('AWS_SESSION_TOKEN');
    expect(fs.readFileSync(env.AWS_CONFIG_FILE!, 'utf8')).toContain('addressing_style = path');
  });
});
