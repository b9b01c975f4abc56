/**
 * The two accounts on the real RGW: tenant isolation, the app users' rights, the migration roles and who may assume
 * them. Run against the rig of the global setup (or the endpoint of BUCKETMOVE_TEST_STATE).
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { createSideClient, type SideClient } from '../../migrator/src/aws/clients';
import { httpStatusOf } from '../../migrator/src/aws/errors';
import { readerRolePolicy, trustPolicy } from '../../migrator/rig/grants';
import { iamAs, rigState, s3As, stsAs, testWorkspace, uniqueKey } from './helpers/rig';

/** The HTTP status a request fails with (0 when it succeeds). */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === undefined) throw err;
    return status;
  }
}

const put = (c: S3Client, Bucket: string, Key: string, Body = 'x') =>
  c.send(new PutObjectCommand({ Bucket, Key, Body }));
const get = async (c: S3Client, Bucket: string, Key: string) =>
  (await c.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
/** Lists a bucket (under a prefix: other test files put thousands of keys in the same buckets). */
const list = (c: S3Client, Bucket: string, Prefix?: string) => c.send(new ListObjectsV2Command({ Bucket, Prefix }));

const state = rigState();
const L = state.buckets.legacy;
const P = state.buckets.primary;
const LQ = `${state.tenants.legacy}:${L}`;
const PQ = `${state.tenants.primary}:${P}`;

describe('tenant isolation (two accounts, no grant between them)', () => {
  const legacyApp = s3As('legacyApp');
  const primaryApp = s3As('primaryApp');
  const primaryAdmin = s3As('primaryAdmin');
  const legacyKey = uniqueKey('isolation/legacy');
  const primaryKey = uniqueKey('isolation/primary');
  afterAll(() => [legacyApp, primaryApp, primaryAdmin].forEach((c) => c.destroy()));

  beforeAll(async () => {
    await put(legacyApp, L, legacyKey, 'legacy photo');
    await put(primaryApp, P, primaryKey, 'new photo');
  });

  test('each app user reads, writes, lists and deletes its own bucket', async () => {
    expect(await get(legacyApp, L, legacyKey)).toBe('legacy photo');
    expect(await get(primaryApp, P, primaryKey)).toBe('new photo');
    expect((await list(legacyApp, L, legacyKey)).Contents?.map((o) => o.Key)).toContain(legacyKey);
    const scratch = uniqueKey('isolation/scratch');
    await put(primaryApp, P, scratch);
    await primaryApp.send(new DeleteObjectCommand({ Bucket: P, Key: scratch }));
    expect(await statusOf(get(primaryApp, P, scratch))).toBe(404);
  });

  test('an app user cannot change its bucket configuration', async () => {
    expect(
      await statusOf(
        primaryApp.send(
          new PutBucketVersioningCommand({ Bucket: P, VersioningConfiguration: { Status: 'Suspended' } }),
        ),
      ),
    ).toBe(403);
  });

  test('the other account gets 403 on read, write and list', async () => {
    expect(await statusOf(get(legacyApp, PQ, primaryKey))).toBe(403);
    expect(await statusOf(put(legacyApp, PQ, uniqueKey('isolation/intrude')))).toBe(403);
    expect(await statusOf(list(legacyApp, PQ))).toBe(403);
    expect(await statusOf(get(primaryApp, LQ, legacyKey))).toBe(403);
    expect(await statusOf(list(primaryApp, LQ))).toBe(403);
    // Not even the primary account's admin can read the legacy account's bucket.
    expect(await statusOf(get(primaryAdmin, LQ, legacyKey))).toBe(403);
  });

  test("a bare bucket name means the caller's own tenant", async () => {
    expect(await statusOf(list(legacyApp, P))).toBe(404);
  });
});

describe('the migration roles', () => {
  const ws = testWorkspace();
  const legacyApp = s3As('legacyApp');
  const migratorDirect = s3As('migrator');
  const key = uniqueKey('roles/photo');
  let reader: SideClient;
  let writer: SideClient;

  beforeAll(async () => {
    await put(legacyApp, L, key, 'to migrate');
    reader = createSideClient(ws, 'legacy', { credentials: 'assume-role' });
    writer = createSideClient(ws, 'primary', { credentials: 'assume-role' });
  });
  afterAll(() => [legacyApp, migratorDirect, reader.s3, writer.s3].forEach((c) => c.destroy()));

  test('the migrator, assuming the reader role, lists and reads the legacy bucket', async () => {
    expect(reader.roleArn).toBe(state.roles.reader.arn);
    expect(await get(reader.s3, reader.bucket, key)).toBe('to migrate');
    expect((await list(reader.s3, reader.bucket, key)).Contents?.some((o) => o.Key === key)).toBe(true);
  });

  test('the reader session names the legacy bucket bare or tenant-qualified (it is pinned to the role tenant)', async () => {
    expect(reader.bucket).toBe(L);
    expect(await get(reader.s3, LQ, key)).toBe('to migrate');
  });

  test('the reader role cannot write or delete in the legacy bucket', async () => {
    expect(await statusOf(put(reader.s3, L, uniqueKey('roles/reader-write')))).toBe(403);
    expect(await statusOf(reader.s3.send(new DeleteObjectCommand({ Bucket: L, Key: key })))).toBe(403);
    expect(await get(legacyApp, L, key)).toBe('to migrate');
  });

  test('the reader role reads nothing else: another legacy bucket is 403, the primary tenant is out of reach', async () => {
    const other = `${L}-other`.slice(0, 63);
    await s3As('legacyAdmin')
      .send(new CreateBucketCommand({ Bucket: other }))
      .catch((err) => {
        if (httpStatusOf(err) !== 409) throw err;
      });
    expect(await statusOf(list(reader.s3, other))).toBe(403);
    // RGW resolves a role session's buckets in the role's tenant only: another tenant's bucket does not exist for it.
    expect(await statusOf(list(reader.s3, PQ))).toBe(404);
  });

  test('the migrator principal by itself has no access to the legacy bucket', async () => {
    expect(await statusOf(get(migratorDirect, LQ, key))).toBe(403);
  });

  test('the writer role writes the new bucket, reads it back, and may delete (to undo a copy that raced a delete), never a version for good', async () => {
    const k = uniqueKey('roles/written');
    await put(writer.s3, writer.bucket, k, 'migrated');
    expect(await get(writer.s3, writer.bucket, k)).toBe('migrated');
    expect(await get(s3As('primaryApp'), P, k)).toBe('migrated');
    // A version delete (even of the unversioned bucket's "null" version) needs s3:DeleteObjectVersion: nobody has it.
    expect(
      await statusOf(writer.s3.send(new DeleteObjectCommand({ Bucket: writer.bucket, Key: k, VersionId: 'null' }))),
    ).toBe(403);
    // As the migrator undoes a copy: If-Match on its ETag (a condition of the grant on AWS; RGW 16 evaluates neither).
    const { ETag } = await writer.s3.send(new HeadObjectCommand({ Bucket: writer.bucket, Key: k }));
    await writer.s3.send(new DeleteObjectCommand({ Bucket: writer.bucket, Key: k, IfMatch: ETag }));
    expect(await statusOf(get(s3As('primaryApp'), P, k))).toBe(404);
  });

  test('a principal the trust policy does not name cannot assume the roles', async () => {
    for (const arn of [state.roles.reader.arn, state.roles.writer.arn]) {
      const sts = stsAs('primaryApp');
      expect(
        await statusOf(
          sts.send(
            new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'intruder', ExternalId: ws.migration.externalId }),
          ),
        ),
      ).toBe(403);
      sts.destroy();
    }
  });

  test('a tampered session token is refused', async () => {
    const sts = stsAs('migrator');
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: state.roles.reader.arn,
        RoleSessionName: 'tamper',
        ExternalId: ws.migration.externalId,
      }),
    );
    sts.destroy();
    const token = c!.SessionToken!;
    const flipped = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
    const session = s3As({ accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: flipped });
    // RGW answers 400 (the token no longer decrypts); AWS answers 403. Either way: refused.
    expect([400, 403]).toContain(await statusOf(get(session, L, key)));
    session.destroy();
  });

  test('sts:ExternalId: enforced where the server evaluates it; on RGW 16 a trust condition on it refuses everyone', async () => {
    const sts = stsAs('migrator');
    const assume = (RoleArn: string, ExternalId: string) =>
      sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'extid', ExternalId }));
    if (state.roles.reader.externalIdCondition) {
      expect(await statusOf(assume(state.roles.reader.arn, `${ws.migration.externalId}-wrong`))).toBe(403);
      expect(await statusOf(assume(state.roles.reader.arn, ws.migration.externalId))).toBe(0);
    } else {
      // Why the rig's roles trust the migrator without the condition: with it, even the right ExternalId is refused.
      const iam = iamAs('legacyAdmin');
      const RoleName = `extid-probe-${process.pid}`;
      const made = await iam.send(
        new CreateRoleCommand({
          RoleName,
          AssumeRolePolicyDocument: JSON.stringify(trustPolicy(ws.migration.principals, ws.migration.externalId)),
        }),
      );
      await iam.send(
        new PutRolePolicyCommand({ RoleName, PolicyName: 'read', PolicyDocument: JSON.stringify(readerRolePolicy(L)) }),
      );
      try {
        expect(await statusOf(assume(made.Role!.Arn!, ws.migration.externalId))).toBe(403);
        expect(await statusOf(assume(made.Role!.Arn!, 'anything-else'))).toBe(403);
        // ...and without the condition any ExternalId is accepted: RGW does not check it at all.
        expect(await statusOf(assume(state.roles.reader.arn, 'anything-else'))).toBe(0);
      } finally {
        await iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName: 'read' }));
        await iam.send(new DeleteRoleCommand({ RoleName }));
        iam.destroy();
      }
    }
    sts.destroy();
  });
});
