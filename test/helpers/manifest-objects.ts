/** Manifest objects held in memory for tests of the manifest readers: an ETag per object, If-Match honoured. */
import { createHash } from 'crypto';
import { Readable } from 'stream';
import { ConfigError } from '../../workspaces/errors';
import {
  formatS3Url,
  manifestChanged,
  type ManifestObjects,
  type S3Location,
} from '../../migrator/src/sources/manifest-object';

export class MemoryObjects implements ManifestObjects {
  private readonly objects = new Map<string, Buffer>();
  /** Objects opened (by URL), in order. */
  readonly opened: string[] = [];

  put(url: string, body: Buffer | string): void {
    this.objects.set(url, Buffer.isBuffer(body) ? body : Buffer.from(body));
  }

  async etag(at: S3Location): Promise<string> {
    const b = this.objects.get(formatS3Url(at));
    if (!b) throw new ConfigError(`manifest ${formatS3Url(at)} does not exist (HTTP 404): check the URL`);
    return md5(b);
  }

  async open(at: S3Location, opts: { ifMatch?: string } = {}): Promise<{ body: Readable; etag: string }> {
    const url = formatS3Url(at);
    const b = this.objects.get(url);
    if (!b) throw Object.assign(new Error(`NoSuchKey ${url}`), { $metadata: { httpStatusCode: 404 } });
    if (opts.ifMatch && opts.ifMatch !== md5(b)) throw manifestChanged(at, opts.ifMatch);
    this.opened.push(url);
    // Small chunks, so records cross chunk boundaries.
    const parts: Buffer[] = [];
    for (let i = 0; i < b.length; i += 7) parts.push(b.subarray(i, i + 7));
    return { body: Readable.from(parts, { objectMode: false }), etag: md5(b) };
  }
}

export const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
