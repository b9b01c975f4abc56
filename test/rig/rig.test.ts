/** The rig's pieces that need no server: the state file, what it creates from a workspace, its install step. */
import * as fs from 'fs';
import * as path from 'path';
import { loadWorkspace, type LoadedWorkspace } from '../../workspaces/load';
import { plannedUsers } from '../../migrator/rig/accounts';
import { expectedComm, isOurs, killDaemons, RigError } from '../../migrator/rig/cluster';
import { appUserPolicy, readerRolePolicy, trustPolicy, writerRolePolicy } from '../../migrator/rig/grants';
import {
  CLIENT_PACKAGES,
  ensurePackages,
  InstallError,
  SERVER_PACKAGES,
  type AptRun,
} from '../../migrator/rig/install';
import { rigKmsKeyId } from '../../migrator/rig/rig';
import { readRigState, rigStatePath, writeRigState, type RigState } from '../../migrator/src/aws/rig-state';
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
      roles: {
        reader: { arn: 'arn:aws:iam::legacy:role/r', externalIdCondition: true },
        writer: { arn: 'arn:aws:iam::primary:role/w', externalIdCondition: true },
      },
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
    [
      'an AWS workspace',
      () => loadWorkspace('prod'),
      /^workspace prod targets AWS; the rig needs a workspace with "target": "s3-compatible"$/,
    ],
    [
      'one tenant for both',
      () => local((w) => (w.primary.accountId = 'legacy')),
      /both "legacy"; the rig needs two tenants$/,
    ],
    [
      'a role as principal',
      () => local((w) => (w.migration.principals = ['arn:aws:iam::primary:role/mover'])),
      /can only create users of its two tenants/,
    ],
    [
      'no primary user',
      () => local((w) => (w.migration.principals = ['arn:aws:iam::legacy:user/mover'])),
      /names no user of the primary tenant "primary"/,
    ],
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
        Action: [
          's3:GetObject',
          's3:PutObject',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
          's3:PutObjectTagging',
          's3:DeleteObject',
        ],
        Resource: ['arn:aws:s3:::b/*'],
      },
    ]);
    expect(readerRolePolicy('b').Statement.flatMap((s) => s.Action)).toEqual([
      's3:ListBucket',
      's3:GetObject',
      's3:GetObjectVersion',
    ]);
    expect(writerRolePolicy('b').Statement.flatMap((s) => s.Action)).toContain('s3:DeleteObject');
    expect(writerRolePolicy('b').Statement.flatMap((s) => s.Action)).not.toContain('s3:DeleteObjectVersion');
    expect(trustPolicy(['arn:aws:iam::primary:user/migrator'], 'x').Statement[0].Condition).toEqual({
      StringEquals: { 'sts:ExternalId': 'x' },
    });
    expect(trustPolicy(['arn:aws:iam::primary:user/migrator']).Statement[0]).not.toHaveProperty('Condition');
  });

  test('the KMS key id is an ARN the workspace schema accepts', () => {
    const ws = local(
      (w) => (w.primary.encryption = { type: 'SSE-KMS', kmsKeyArn: rigKmsKeyId('us-east-1'), bucketKey: true }),
    );
    const { file: _f, ...json } = ws;
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'local.json'), JSON.stringify(json));
    expect(loadWorkspace('local', dir).primary.encryption).toEqual({
      type: 'SSE-KMS',
      kmsKeyArn: rigKmsKeyId('us-east-1'),
      bucketKey: true,
    });
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
    expect(ensurePackages(SERVER_PACKAGES, undefined, { installed: () => true, isDebian: none, isRoot: none })).toEqual(
      [],
    );
  });

  test('not Debian: one line on what to do instead', () => {
    expect(() =>
      ensurePackages(SERVER_PACKAGES, undefined, { installed: none, isDebian: none, isRoot: () => true }),
    ).toThrow(
      new InstallError(
        'missing ceph-mon, ceph-osd, radosgw, ceph-common, ceph-base, and this is not a Debian system: install Ceph (radosgw, ceph-mon, ceph-osd) and the AWS CLI v2 yourself, or point the tests at another S3 endpoint with BUCKETMOVE_TEST_STATE',
      ),
    );
  });

  test('not root: the exact command to run', () => {
    expect(() =>
      ensurePackages(SERVER_PACKAGES, undefined, {
        installed: (n) => n.bin !== 'radosgw',
        isDebian: () => true,
        isRoot: none,
      }),
    ).toThrow(
      new InstallError(
        'missing Debian packages radosgw: run `sudo apt-get update && sudo apt-get install -y --no-install-recommends radosgw` (the rig installs them itself only as root)',
      ),
    );
  });

  test("the tests' clients include Debian's Python with boto3 and cryptography", () => {
    const pkgs = CLIENT_PACKAGES.map((n) => n.pkg);
    expect(pkgs).toEqual(expect.arrayContaining(['awscli', 'rclone', 'curl', 'python3-boto3', 'python3-cryptography']));
    const installs: string[][] = [];
    const missing = ensurePackages(CLIENT_PACKAGES, undefined, {
      installed: (n) => n.pythonModule === undefined || installs.length > 0, // every program there, no Python module yet
      isDebian: () => true,
      isRoot: () => true,
      aptGet: (args) => (args[0] === 'install' && installs.push(args), { status: 0, output: '' }),
    });
    expect(missing).toEqual(['python3-boto3', 'python3-cryptography']);
    expect(installs).toEqual([
      ['install', '-y', '-q', '--no-install-recommends', 'python3-boto3', 'python3-cryptography'],
    ]);
  });

  /** apt-get as it answers while another apt-get holds the lock `busy` times, then as it answers `then`. */
  function lockedApt(busy: number, then: AptRun = { status: 0, output: '' }) {
    const calls: string[][] = [];
    let refusals = 0;
    const aptGet = (args: string[]): AptRun => {
      calls.push(args);
      if (refusals < busy) {
        refusals++;
        return {
          status: 100,
          output:
            'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n',
        };
      }
      return then;
    };
    let clock = 0;
    return { calls, aptGet, sleep: (ms: number) => void (clock += ms), now: () => clock };
  }
  const asRoot = { installed: (n: { bin?: string }) => n.bin !== 'radosgw', isDebian: () => true, isRoot: () => true };

  test('another apt-get holds the lock: waits (saying so once), then installs', () => {
    const apt = lockedApt(3);
    const lines: string[] = [];
    let installedNow = false;
    const got = ensurePackages(SERVER_PACKAGES, (l) => lines.push(l), {
      ...asRoot,
      installed: (n) => installedNow || n.bin !== 'radosgw',
      aptGet: (args) => {
        const r = apt.aptGet(args);
        if (args[0] === 'install' && r.status === 0) installedNow = true;
        return r;
      },
      sleep: apt.sleep,
      now: apt.now,
    });
    expect(got).toEqual(['radosgw']);
    expect(apt.calls.map((a) => a[0])).toEqual(['update', 'update', 'update', 'update', 'install']);
    expect(lines.filter((l) => l.includes('holds the package lock'))).toEqual([
      'another apt-get or dpkg holds the package lock (E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?): waiting for it, up to 5 min',
    ]);
  });

  test('the lock still held after the wait: one line with what to run, no endless wait', () => {
    const apt = lockedApt(Infinity);
    expect(() =>
      ensurePackages(SERVER_PACKAGES, undefined, { ...asRoot, aptGet: apt.aptGet, sleep: apt.sleep, now: apt.now }),
    ).toThrow(
      /^another apt-get or dpkg still holds the package lock after 5 min \(.*\): once it has finished, run `npm run rig -- install` \(or `apt-get update && apt-get install -y --no-install-recommends radosgw`\)$/,
    );
    expect(apt.now()).toBeGreaterThanOrEqual(300_000);
    expect(apt.now()).toBeLessThan(310_000);
  });

  test('any other apt-get failure: at once, with its last line', () => {
    const apt = lockedApt(0, { status: 100, output: 'E: Unable to locate package radosgw\n' });
    expect(() =>
      ensurePackages(SERVER_PACKAGES, undefined, { ...asRoot, aptGet: apt.aptGet, sleep: apt.sleep, now: apt.now }),
    ).toThrow(
      'apt-get update failed (E: Unable to locate package radosgw): run `apt-get update && apt-get install -y --no-install-recommends radosgw` by hand and retry',
    );
    expect(apt.calls).toHaveLength(1);
  });
});

describe('the AWS CLI environment', () => {
  test("only the given keys and region, path-style, none of the caller's AWS settings", () => {
    const env = awsCliEnv({ accessKeyId: 'AK', secretAccessKey: 'SK' }, 'us-east-1');
    expect(env).toMatchObject({
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    });
    expect(env).not.toHaveProperty('AWS_CA_BUNDLE');
    expect(env).not.toHaveProperty('AWS_SESSION_TOKEN');
    expect(fs.readFileSync(env.AWS_CONFIG_FILE!, 'utf8')).toContain('addressing_style = path');
  });
});
