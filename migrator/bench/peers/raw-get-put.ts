/**
 * A peer in the migrator bench, run as its own process so its CPU and RSS are measured like the others': the raw SDK
 * loop that lists the legacy bucket under a prefix and, 16 in flight, GETs each object and PUTs its bytes unchanged
 * into the new bucket with SSE-S3. No decrypt, no hash, no checkpoint: the ceiling of any copy that moves the bytes
 * through a Node client.
 *
 * Input: the same PEER_* environment as peers/fernet_copy.py (PEER_FERNET_KEYS unused). Prints "copied <n>".
 */
import { GetObjectCommand, paginateListObjectsV2, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/aws/clients';
import { need } from './peer-env';

async function main(): Promise<void> {
  const env = process.env;
  const client = (id: string, secret: string) =>
    createS3Client({
      endpoint: need('PEER_ENDPOINT'),
      region: need('PEER_REGION'),
      s3Compatible: true,
      credentials: { accessKeyId: need(id), secretAccessKey: need(secret) },
    });
  const src = client('PEER_SRC_KEY_ID', 'PEER_SRC_SECRET');
  const dst = client('PEER_DST_KEY_ID', 'PEER_DST_SECRET');
  const [srcBucket, dstBucket] = [need('PEER_SRC_BUCKET'), need('PEER_DST_BUCKET')];
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: src },
    { Bucket: srcBucket, Prefix: env.PEER_PREFIX ?? '' },
  )) {
    for (const o of page.Contents ?? []) keys.push(o.Key!);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(env.PEER_THREADS ?? 16) }, async () => {
      while (next < keys.length) {
        const key = keys[next++];
        const got = await src.send(new GetObjectCommand({ Bucket: srcBucket, Key: key }));
        const body = await got.Body!.transformToByteArray();
        await dst.send(
          new PutObjectCommand({
            Bucket: dstBucket,
            Key: key,
            Body: body,
            ContentType: got.ContentType,
            ServerSideEncryption: 'AES256',
          }),
        );
      }
    }),
  );
  src.destroy();
  dst.destroy();
  process.stdout.write(`copied ${keys.length}\n`);
}

main().catch((err) => {
  process.stderr.write(`raw-get-put: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
