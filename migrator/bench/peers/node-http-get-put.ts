/**
 * A peer in the migrator bench, run as its own process so its CPU and RSS are measured like the others': the floor
 * of any Node copy through the client. It lists the legacy bucket under a prefix (the SDK, once) and, 16 in flight,
 * GETs each object and PUTs its bytes unchanged into the new bucket with SSE-S3, on node:http directly (one keep-alive
 * agent per account), each request signed with SigV4 (migrator/src/aws/sigv4.ts, the payload's SHA-256 signed as the
 * migrator signs it). No SDK on the per-object path, no retries, no decrypt, no checkpoint: what a Node process spends
 * on the two requests alone.
 *
 * Input: the same PEER_* environment as peers/fernet_copy.py (PEER_FERNET_KEYS unused). Prints "copied <n>".
 */
import { createHash } from 'crypto';
import * as http from 'http';
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { extendedEncodeURIComponent } from '@smithy/core/protocols';
import { createS3Client } from '../../src/aws/clients';
import { need } from './peer-env';
import { EMPTY_SHA256, HeaderSigner, type SigningCredentials } from '../../src/aws/sigv4';

interface Side {
  readonly creds: SigningCredentials;
  readonly agent: http.Agent;
  /** One per account: a signer keeps the signing key of the last credentials it signed with. */
  readonly signer: HeaderSigner;
}

function request(
  endpoint: URL,
  side: Side,
  method: 'GET' | 'PUT',
  path: string,
  extra: Record<string, string>,
  body?: Buffer,
): Promise<Buffer> {
  const headers: Record<string, string> = {
    host: endpoint.host,
    'x-amz-content-sha256': body ? createHash('sha256').update(body).digest('hex') : EMPTY_SHA256,
    ...extra,
  };
  if (body) headers['content-length'] = String(body.length);
  side.signer.sign(method, path, headers, side.creds, new Date());
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent: side.agent, method, host: endpoint.hostname, port: endpoint.port, path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          (res.statusCode ?? 0) >= 300
            ? reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`))
            : resolve(Buffer.concat(chunks)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const env = process.env;
  const endpoint = new URL(need('PEER_ENDPOINT'));
  if (endpoint.protocol !== 'http:') throw new Error('this peer speaks plain HTTP to a local S3 only');
  const threads = Number(env.PEER_THREADS ?? 16);
  const side = (id: string, secret: string): Side => ({
    creds: { accessKeyId: need(id), secretAccessKey: need(secret) },
    agent: new http.Agent({ keepAlive: true, maxSockets: threads }),
    signer: new HeaderSigner(need('PEER_REGION')),
  });
  const src = side('PEER_SRC_KEY_ID', 'PEER_SRC_SECRET');
  const dst = side('PEER_DST_KEY_ID', 'PEER_DST_SECRET');
  const [srcBucket, dstBucket] = [need('PEER_SRC_BUCKET'), need('PEER_DST_BUCKET')];
  const lister = createS3Client({
    endpoint: endpoint.origin,
    region: need('PEER_REGION'),
    s3Compatible: true,
    credentials: src.creds,
  });
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: lister },
    { Bucket: srcBucket, Prefix: env.PEER_PREFIX ?? '' },
  )) {
    for (const o of page.Contents ?? []) keys.push(o.Key!);
  }
  lister.destroy();
  const pathOf = (bucket: string, key: string) =>
    `/${extendedEncodeURIComponent(bucket)}/${key.split('/').map(extendedEncodeURIComponent).join('/')}`;
  let next = 0;
  await Promise.all(
    Array.from({ length: threads }, async () => {
      while (next < keys.length) {
        const key = keys[next++];
        const body = await request(endpoint, src, 'GET', pathOf(srcBucket, key), {});
        await request(
          endpoint,
          dst,
          'PUT',
          pathOf(dstBucket, key),
          {
            'content-type': 'application/octet-stream',
            'x-amz-server-side-encryption': 'AES256',
          },
          body,
        );
      }
    }),
  );
  src.agent.destroy();
  dst.agent.destroy();
  process.stdout.write(`copied ${keys.length}\n`);
}

main().catch((err) => {
  process.stderr.write(`node-http-get-put: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
