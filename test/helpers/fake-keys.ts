/**
 * IAM, Secrets Manager and STS as a key rotation sees them, in memory, answered through aws-sdk-client-mock (AWS's
 * behaviour; the local RGW has no IAM users of this kind, no Secrets Manager and no GetCallerIdentity):
 *
 * - IAM: one user's access keys (at most two: a third CreateAccessKey fails with LimitExceeded, as IAM does).
 * - Secrets Manager: one secret's versions and staging labels (AWSPENDING moves with PutSecretValue; moving
 *   AWSCURRENT gives AWSPREVIOUS to the version it left, as UpdateSecretVersionStage does).
 * - STS and S3, per key: GetCallerIdentity names the key's user once IAM "propagated" it (after `invisibleFor` refusals
 *   with InvalidClientTokenId), and HeadBucket succeeds for a known, active key.
 */
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'crypto';
import type { KeyPair } from '../../migrator/src/keys/credentials-secret';
import type { KeyClients } from '../../migrator/src/keys/prove-key';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const fixed = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

export interface FakeKey {
  status: 'Active' | 'Inactive';
  created: Date;
  secret: string;
  /** GetCallerIdentity refusals left before the key is "propagated". */
  invisibleFor: number;
}

export interface FakeVersion {
  value?: string;
  stages: Set<string>;
  created: Date;
}

const awsError = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });

export class FakeKeys {
  readonly keys = new Map<string, FakeKey>();
  readonly versions = new Map<string, FakeVersion>();
  readonly iam = new IAMClient({ region: 'eu-west-1', credentials: fixed });
  readonly secrets = new SecretsManagerClient({ region: 'eu-west-1', credentials: fixed });
  /** Every secret half IAM handed out (a test checks none of them was printed). */
  readonly issuedSecrets: string[] = [];
  /** The most keys the user ever held at once. */
  maxKeys = 0;
  /** How many GetCallerIdentity refusals a new key gets before it works. */
  propagationRefusals = 0;
  /** The ARN GetCallerIdentity names (another one simulates a key of the wrong user). */
  callerArn: string;
  /** Makes the next PutSecretValue fail. */
  failNextPut = false;
  rotationEnabled = false;
  /** Other secrets, by name: their value (GetSecretValue of the current version). */
  readonly otherSecrets = new Map<string, string>();
  private serial = 0;
  private readonly clients: { destroy(): void }[] = [];
  private readonly mocks: { restore(): void }[] = [];

  /**
   * `everyClient`: answer every IAM and Secrets Manager client made from now on (code that builds its own), not just
   * this.iam/this.secrets.
   */
  constructor(
    readonly userName: string,
    readonly userArn: string,
    readonly secretName: string,
    readonly clock: () => Date,
    o: { everyClient?: boolean } = {},
  ) {
    this.callerArn = userArn;
    const iam = o.everyClient ? mockClient(IAMClient) : mockClient(this.iam);
    this.mocks.push(iam);
    iam.on(ListAccessKeysCommand).callsFake(() => ({
      AccessKeyMetadata: [...this.keys].map(([id, k]) => ({
        AccessKeyId: id,
        Status: k.status,
        CreateDate: k.created,
        UserName: this.userName,
      })),
      IsTruncated: false,
    }));
    iam.on(CreateAccessKeyCommand).callsFake(() => {
      if (this.keys.size >= 2)
        throw awsError('LimitExceededException', 409, 'Cannot exceed quota for AccessKeysPerUser: 2');
      const id = `AKIA${String(++this.serial).padStart(4, '0')}TESTKEY${randomBytes(2).toString('hex').toUpperCase()}`;
      const secret = randomBytes(30).toString('base64');
      this.keys.set(id, { status: 'Active', created: this.clock(), secret, invisibleFor: this.propagationRefusals });
      this.issuedSecrets.push(secret);
      this.maxKeys = Math.max(this.maxKeys, this.keys.size);
      return {
        AccessKey: {
          UserName: this.userName,
          AccessKeyId: id,
          SecretAccessKey: secret,
          Status: 'Active',
          CreateDate: this.clock(),
        },
      };
    });
    iam.on(UpdateAccessKeyCommand).callsFake((input) => {
      const k = this.keys.get(input.AccessKeyId);
      if (!k) throw awsError('NoSuchEntityException', 404);
      k.status = input.Status;
      return {};
    });
    iam.on(DeleteAccessKeyCommand).callsFake((input) => {
      if (!this.keys.delete(input.AccessKeyId)) throw awsError('NoSuchEntityException', 404);
      return {};
    });

    const sm = o.everyClient ? mockClient(SecretsManagerClient) : mockClient(this.secrets);
    this.mocks.push(sm);
    sm.on(DescribeSecretCommand).callsFake(() => ({
      Name: this.secretName,
      ARN: `arn:aws:secretsmanager:eu-west-1:210987654321:secret:${this.secretName}-AbCdEf`,
      RotationEnabled: this.rotationEnabled,
      VersionIdsToStages: Object.fromEntries(
        [...this.versions].filter(([, v]) => v.stages.size).map(([id, v]) => [id, [...v.stages]]),
      ),
    }));
    sm.on(ListSecretVersionIdsCommand).callsFake(() => ({
      Versions: [...this.versions].map(([id, v]) => ({
        VersionId: id,
        VersionStages: [...v.stages],
        CreatedDate: v.created,
      })),
    }));
    sm.on(GetSecretValueCommand).callsFake((input) => {
      const other = input.SecretId ? this.otherSecrets.get(input.SecretId) : undefined;
      if (other !== undefined) return { Name: input.SecretId, SecretString: other, VersionStages: ['AWSCURRENT'] };
      const entry = [...this.versions].find(
        ([id, v]) =>
          (!input.VersionId || id === input.VersionId) &&
          (!input.VersionStage || v.stages.has(input.VersionStage)) &&
          (input.VersionId || input.VersionStage),
      );
      if (!entry || entry[1].value === undefined) {
        throw new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret value",
          $metadata: { httpStatusCode: 400 },
        });
      }
      return {
        Name: this.secretName,
        VersionId: entry[0],
        SecretString: entry[1].value,
        VersionStages: [...entry[1].stages],
      };
    });
    sm.on(PutSecretValueCommand).callsFake((input) => {
      if (this.failNextPut) {
        this.failNextPut = false;
        throw awsError('InternalServiceError', 500);
      }
      for (const stage of input.VersionStages ?? []) for (const v of this.versions.values()) v.stages.delete(stage);
      const existing = this.versions.get(input.ClientRequestToken);
      if (existing?.value !== undefined && existing.value !== input.SecretString)
        throw awsError('ResourceExistsException', 400);
      this.versions.set(input.ClientRequestToken, {
        value: input.SecretString,
        stages: new Set(input.VersionStages ?? ['AWSCURRENT']),
        created: existing?.created ?? this.clock(),
      });
      return { VersionId: input.ClientRequestToken };
    });
    sm.on(UpdateSecretVersionStageCommand).callsFake((input) => {
      const from = input.RemoveFromVersionId ? this.versions.get(input.RemoveFromVersionId) : undefined;
      if (input.RemoveFromVersionId && !from?.stages.has(input.VersionStage))
        throw awsError('InvalidParameterException', 400, 'the stage is not on that version');
      from?.stages.delete(input.VersionStage);
      if (input.MoveToVersionId) {
        const to = this.versions.get(input.MoveToVersionId);
        if (!to) throw awsError('ResourceNotFoundException', 400);
        for (const v of this.versions.values()) if (v !== to) v.stages.delete(input.VersionStage);
        to.stages.add(input.VersionStage);
        if (input.VersionStage === 'AWSCURRENT' && from) {
          for (const v of this.versions.values()) v.stages.delete('AWSPREVIOUS');
          from.stages.add('AWSPREVIOUS');
        }
      }
      return {};
    });
  }

  /** A key the user already holds, stored as the secret's AWSCURRENT (as Terraform left it before the move). */
  seedCurrentKey(created: Date): string {
    const id = 'AKIAFROMTERRAFORMSTATE';
    const secret = randomBytes(30).toString('base64');
    this.keys.set(id, { status: 'Active', created, secret, invisibleFor: 0 });
    this.versions.set('terraform-version', {
      value: JSON.stringify({ AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret }),
      stages: new Set(['AWSCURRENT']),
      created,
    });
    this.issuedSecrets.push(secret);
    this.maxKeys = Math.max(this.maxKeys, this.keys.size);
    return id;
  }

  /** What a rotation's test step gets: STS and S3 clients signed with `keys`, answered as AWS would for that key. */
  clientsFor = (keys: KeyPair): KeyClients => {
    const sts = new STSClient({ region: 'eu-west-1', credentials: { ...keys } });
    const s3 = new S3Client({ region: 'eu-west-1', credentials: { ...keys } });
    const known = () => {
      const k = this.keys.get(keys.accessKeyId);
      return k && k.secret === keys.secretAccessKey && k.status === 'Active' ? k : undefined;
    };
    mockClient(sts)
      .on(GetCallerIdentityCommand)
      .callsFake(() => {
        const k = known();
        if (!k || k.invisibleFor > 0) {
          if (k) k.invisibleFor--;
          throw awsError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.');
        }
        return { Arn: this.callerArn, Account: '210987654321', UserId: 'AIDAEXAMPLE' };
      });
    mockClient(s3)
      .on(HeadBucketCommand)
      .callsFake(() => {
        if (!known()) throw awsError('Forbidden', 403);
        return {};
      });
    const pair = { destroy: () => (sts.destroy(), s3.destroy()) };
    this.clients.push(pair);
    return { sts, s3, destroy: pair.destroy };
  };

  /** What Secrets Manager does when a rotation starts: a version `token` labelled AWSPENDING, with no value yet. */
  openRotation(token: string): void {
    for (const v of this.versions.values()) v.stages.delete('AWSPENDING');
    this.versions.set(token, { stages: new Set(['AWSPENDING']), created: this.clock() });
  }

  /** The stages, by key id, as the secret holds them now. */
  stagesByKey(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const v of this.versions.values()) {
      if (v.value && v.stages.size)
        out[(JSON.parse(v.value) as { AWS_ACCESS_KEY_ID: string }).AWS_ACCESS_KEY_ID] = [...v.stages].sort();
    }
    return out;
  }

  destroy(): void {
    for (const m of this.mocks) m.restore();
    for (const c of this.clients) c.destroy();
    this.iam.destroy();
    this.secrets.destroy();
  }
}
