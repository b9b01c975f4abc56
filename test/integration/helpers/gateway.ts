/**
 * The S3-API gateway for integration tests: started as `npm run gateway` runs it (a child process, from the sources
 * or its bundle), requests signed by the SDK's own signer and sent with fetch (to send what no SDK would, or to see
 * headers the SDK hides), and the load client's PhotoApi over S3 (helpers/load-client.ts).
 */
import { createHash, createHmac } from 'crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { uriEncode } from '../../../migrator/src/gateway/sigv4-verify';
import { bundled } from '../../helpers/bundle';
import type { PhotoApi } from './load-client';
import { startServerChild, type RunningService } from './photo-service';

const GATEWAY = 'migrator/src/gateway/main.ts';

export interface AppKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** node:crypto as the SDK signer's hash (what @smithy/hash-node does). */
export class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

/** Starts the gateway with `env` (the store's variables and the app's keys) and `args` after `--env local`. */
export async function startGateway(o: {
  env: NodeJS.ProcessEnv;
  args?: string[];
  logFile: string;
  bundled?: boolean;
  what?: string;
}): Promise<RunningService & { admin: string }> {
  let admin = '';
  const svc = await startServerChild({
    args: [
      ...(o.bundled ? [bundled(GATEWAY)] : ['-r', 'ts-node/register', GATEWAY]),
      '--env',
      'local',
      '--port',
      '0',
      '--admin-port',
      '0',
      ...(o.args ?? []),
    ],
    env: o.env,
    logFile: o.logFile,
    what: o.what ?? 'the gateway',
    urlOf: (line) => {
      if (!line.includes('"gateway.listening"')) return undefined;
      const l = JSON.parse(line) as { url: string; admin: string };
      admin = l.admin;
      return l.url.replace('//0.0.0.0:', '//127.0.0.1:');
    },
  });
  return Object.assign(svc, { admin });
}

/** A request signed as the app by the SDK's signer (payload SHA-256 signed), sent as is with fetch. */
export async function signedFetch(
  base: string,
  keys: AppKeys,
  region: string,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<Response> {
  const url = new URL(base + pathAndQuery);
  const signer = new SignatureV4({
    credentials: { ...keys },
    region,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
  });
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = v));
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query,
    headers: {
      host: url.host,
      'x-amz-content-sha256': createHash('sha256')
        .update(body ?? Buffer.alloc(0))
        .digest('hex'),
      ...headers,
    },
    body,
  });
  return fetch(url, { method, headers: signed.headers as Record<string, string>, body });
}

/** The load client over S3 through the gateway: GetObject (x-bucketmove-source), PutObject, DeleteObject. */
export function gatewayApi(bucket: string, keys: AppKeys, region: string): PhotoApi {
  const at = (key: string) => `/${bucket}/${uriEncode(key, true)}`;
  return {
    async get(base, key) {
      const res = await signedFetch(base, keys, region, 'GET', at(key));
      return {
        status: res.status,
        body: Buffer.from(await res.arrayBuffer()),
        source: res.headers.get('x-bucketmove-source') ?? undefined,
        by: '',
      };
    },
    async put(base, key, bytes) {
      const res = await signedFetch(base, keys, region, 'PUT', at(key), { 'content-type': 'image/jpeg' }, bytes);
      await res.arrayBuffer();
      return res.status === 200 || res.status;
    },
    async delete(base, key) {
      const res = await signedFetch(base, keys, region, 'DELETE', at(key));
      await res.arrayBuffer();
      return res.status === 204 || res.status;
    },
  };
}
