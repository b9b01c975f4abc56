/**
 * The test step of a rotation: the new key works as its user. STS GetCallerIdentity signed with it must name the
 * user's ARN, and a HeadBucket of the user's bucket with it must succeed (the user's policy grants s3:ListBucket).
 *
 * IAM is eventually consistent: a key just created can be refused for a few seconds (IAM User Guide, "Troubleshoot
 * IAM": changes "take time to become visible"; STS answers InvalidClientTokenId, S3 403 InvalidAccessKeyId). Those
 * answers are retried, a bounded number of times with a fixed pause; any other failure, or the last refusal, fails
 * the step and the rotation stops before the new key becomes current.
 */
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { describeAwsError, errorCodeOf, httpStatusOf } from '../aws/errors';
import type { KeyPair } from './credentials-secret';

/** Clients signed with one key pair; destroy() closes their sockets. */
export interface KeyClients {
  readonly sts: STSClient;
  readonly s3: S3Client;
  destroy(): void;
}

export interface ProveOptions {
  /** Clients signed with a given key pair. */
  readonly clientsFor: (keys: KeyPair) => KeyClients;
  readonly userArn: string;
  readonly bucket: string;
  /** How many times each check is tried (default 12). */
  readonly attempts?: number;
  /** The pause between tries, ms (default 5000: a minute in all). */
  readonly pauseMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told about each refusal that is retried (no secret in it). */
  readonly onRetry?: (check: 'sts' | 's3', attempt: number, reason: string) => void;
}

export class KeyProofError extends Error {
  override readonly name = 'KeyProofError';
}

/** An answer that means "this key is not known (yet)": worth another try while IAM propagates it. */
export function isNotYetValid(err: unknown): boolean {
  const code = errorCodeOf(err);
  if (
    code &&
    [
      'InvalidClientTokenId',
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
      'UnrecognizedClientException',
      'AuthFailure',
    ].includes(code)
  )
    return true;
  return httpStatusOf(err) === 403;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withRetries<T>(o: ProveOptions, check: 'sts' | 's3', run: () => Promise<T>): Promise<T> {
  const attempts = o.attempts ?? 12;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isNotYetValid(err) || attempt >= attempts) {
        const what = check === 'sts' ? 'STS GetCallerIdentity' : `HeadBucket ${o.bucket}`;
        throw new KeyProofError(
          `the new key failed ${what} (${describeAwsError(err)})${attempt > 1 ? ` after ${attempt} tries` : ''}`,
        );
      }
      o.onRetry?.(check, attempt, describeAwsError(err));
      await (o.sleep ?? realSleep)(o.pauseMs ?? 5000);
    }
  }
}

/** Resolves when the key works as `userArn` on `bucket`; throws a one-line KeyProofError otherwise. */
export async function proveKey(keys: KeyPair, o: ProveOptions): Promise<void> {
  const c = o.clientsFor(keys);
  try {
    const who = await withRetries(o, 'sts', () => c.sts.send(new GetCallerIdentityCommand({})));
    if (who.Arn !== o.userArn) throw new KeyProofError(`the new key acts as ${who.Arn ?? 'nobody'}, not ${o.userArn}`);
    await withRetries(o, 's3', () => c.s3.send(new HeadBucketCommand({ Bucket: o.bucket })));
  } finally {
    c.destroy();
  }
}
