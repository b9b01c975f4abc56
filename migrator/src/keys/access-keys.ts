/**
 * A user's IAM access keys: list, create, deactivate, delete. IAM allows a user two keys at most; the rotation keeps
 * it at two only between a new key's creation and the deletion of the old one (rotation-steps.ts).
 */
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import type { KeyPair } from './credentials-secret';

/** IAM's limit on a user's access keys (IAM User Guide, "IAM and AWS STS quotas": access keys per user, 2). */
export const MAX_KEYS_PER_USER = 2;

export interface AccessKeyInfo {
  readonly keyId: string;
  readonly status: 'Active' | 'Inactive';
  readonly created?: Date;
}

export async function listAccessKeys(iam: IAMClient, userName: string): Promise<AccessKeyInfo[]> {
  const keys: AccessKeyInfo[] = [];
  let Marker: string | undefined;
  do {
    const out = await iam.send(new ListAccessKeysCommand({ UserName: userName, Marker }));
    for (const k of out.AccessKeyMetadata ?? []) {
      if (k.AccessKeyId)
        keys.push({
          keyId: k.AccessKeyId,
          status: k.Status === 'Inactive' ? 'Inactive' : 'Active',
          created: k.CreateDate,
        });
    }
    Marker = out.IsTruncated ? out.Marker : undefined;
  } while (Marker);
  return keys;
}

/** Creates a key; its secret half is in the result only (IAM never shows it again). */
export async function createAccessKey(iam: IAMClient, userName: string): Promise<KeyPair> {
  const out = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  const key = out.AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error(`IAM CreateAccessKey for ${userName} returned no key`);
  return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
}

export async function deactivateAccessKey(iam: IAMClient, userName: string, keyId: string): Promise<void> {
  await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: keyId, Status: 'Inactive' }));
}

export async function deleteAccessKey(iam: IAMClient, userName: string, keyId: string): Promise<void> {
  await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: keyId }));
}
