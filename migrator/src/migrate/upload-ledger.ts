/**
 * Records every multipart upload the writer starts in the checkpoint, and forgets it once completed or aborted, so a
 * run killed with SIGKILL leaves a list of the uploads to abort at the next start (nothing partial stays behind).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Checkpoint } from './checkpoint';

export function attachUploadLedger(client: S3Client, checkpoint: Checkpoint): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { Key?: string; UploadId?: string };
      const output = result.output as { UploadId?: string };
      if (context.commandName === 'CreateMultipartUploadCommand' && input.Key && output.UploadId) {
        checkpoint.recordUpload(input.Key, output.UploadId);
      } else if ((context.commandName === 'CompleteMultipartUploadCommand' || context.commandName === 'AbortMultipartUploadCommand') && input.UploadId) {
        checkpoint.clearUpload(input.UploadId);
      }
      return result;
    },
    { step: 'initialize', name: 'bucketmoveUploadLedger', override: true },
  );
}
