/**
 * Records every multipart upload the writer starts in the checkpoint, and forgets it once completed or aborted, so a
 * run killed with SIGKILL leaves a list of the uploads to abort at the next start (nothing partial stays behind).
 *
 * One case escapes any ledger: a CreateMultipartUpload that S3 carried out but whose answer was lost, so the SDK
 * retried it and got a second upload id; the first is known to nobody. When the SDK reports that a create took more
 * than one attempt, the key's in-progress uploads are listed and those started during that create call by the same
 * principal as ours are aborted. (The app signs as another principal on AWS; RGW 16 reports the lister as the
 * initiator of every upload, so there the time window alone tells them apart. On AWS the bucket's lifecycle rule
 * would abort a lost upload after some days anyway.)
 */
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { httpStatusOf } from '../aws/errors';
import type { Checkpoint } from './checkpoint';

export function attachUploadLedger(client: S3Client, checkpoint: Checkpoint): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const started = new Date();
      const result = await next(args);
      const input = args.input as { Bucket?: string; Key?: string; UploadId?: string };
      const output = result.output as { UploadId?: string; $metadata?: { attempts?: number } };
      if (context.commandName === 'CreateMultipartUploadCommand' && input.Key && output.UploadId) {
        checkpoint.recordUpload(input.Key, output.UploadId);
        if ((output.$metadata?.attempts ?? 1) > 1 && input.Bucket) {
          await abortLostTwins(client, input.Bucket, input.Key, output.UploadId, { from: started, to: new Date() });
        }
      } else if (
        (context.commandName === 'CompleteMultipartUploadCommand' ||
          context.commandName === 'AbortMultipartUploadCommand') &&
        input.UploadId
      ) {
        checkpoint.clearUpload(input.UploadId);
      }
      return result;
    },
    { step: 'initialize', name: 'bucketmoveUploadLedger', override: true },
  );
}

/**
 * Aborts the other in-progress uploads of `key` that the principal of upload `ours` started within `during` (widened
 * by `marginMs` on each side for the server's clock).
 */
export async function abortLostTwins(
  client: S3Client,
  bucket: string,
  key: string,
  ours: string,
  during: { from: Date; to: Date },
  marginMs = 5_000,
): Promise<number> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  const uploads = (out.Uploads ?? []).filter((u) => u.Key === key);
  const me = uploads.find((u) => u.UploadId === ours)?.Initiator?.ID;
  if (!me) return 0;
  let aborted = 0;
  for (const u of uploads) {
    const at = u.Initiated?.getTime() ?? NaN;
    if (!u.UploadId || u.UploadId === ours || u.Initiator?.ID !== me) continue;
    if (!(at >= during.from.getTime() - marginMs && at <= during.to.getTime() + marginMs)) continue;
    if (await abortUpload(client, bucket, key, u.UploadId)) aborted++;
  }
  return aborted;
}

/**
 * Aborts a multipart upload; false when there was none left (404 NoSuchUpload: it was completed or aborted already).
 */
export async function abortUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<boolean> {
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    return true;
  } catch (err) {
    if (httpStatusOf(err) !== 404) throw err;
    return false;
  }
}
