/**
 * One ListObjectsV2 page of a bucket, for the two listings on a run's way: the legacy bucket's keys (objects/
 * list-legacy.ts) and the delete recheck's look at them again (migrate/recheck-deletes.ts).
 *
 * It goes on the light request path (light-s3.ts) where the client has one: the SDK's response deserializer (its XML
 * parser builds every text a character at a time, then each field is read through the operation's schema and every
 * LastModified parsed into a Date) was the largest share of the SDK left in a run's profile once the per-object calls
 * had left it (BENCHMARKS.md). The page is read here from the XML as S3 writes it: one `<Contents>` element per key,
 * its fields plain text with XML's five named entities and numeric character references (S3's escape for the control
 * characters a key may hold), and CDATA sections read as the SDK's parser reads them. Elsewhere the SDK's
 * ListObjectsV2Command lists, and the page is the same (test/aws/list-objects.test.ts holds the two to the same pages).
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { addAbortSignal } from 'stream';
import { readAll } from '../read-bounded';
import { lightPathOf } from './light-s3';

export interface ListObjectsRequest {
  readonly bucket: string;
  readonly prefix?: string;
  readonly startAfter?: string;
  readonly continuationToken?: string;
  /** At most this many keys (S3 gives at most 1,000). */
  readonly maxKeys?: number;
  readonly signal?: AbortSignal;
}

export interface ListedEntry {
  readonly key: string;
  /** Bytes stored (0 when the listing does not say). */
  readonly size: number;
  /** As listed, quotes included. */
  readonly etag?: string;
  /** ISO 8601. */
  readonly lastModified?: string;
}

export interface ListObjectsPage {
  readonly contents: ListedEntry[];
  readonly isTruncated: boolean;
  readonly nextContinuationToken?: string;
}

/** A ListObjectsV2 body that is not the XML S3 writes. */
export class ListXmlError extends Error {}

/** One page, on the light path where the client has one for the bucket, else through the SDK. */
export async function listObjectsPage(client: S3Client, r: ListObjectsRequest): Promise<ListObjectsPage> {
  const light = lightPathOf(client);
  if (light && (await light.supports(r.bucket))) {
    const query: Record<string, string> = { 'list-type': '2' };
    if (r.continuationToken) query['continuation-token'] = r.continuationToken;
    if (r.maxKeys !== undefined) query['max-keys'] = String(r.maxKeys);
    if (r.prefix) query.prefix = r.prefix;
    if (r.startAfter) query['start-after'] = r.startAfter;
    const res = await light.send({
      operation: 'ListObjectsV2',
      bucket: r.bucket,
      key: '',
      query,
      headers: {},
      signal: r.signal,
    });
    // A page of 1,000 keys of 1,024 bytes is about 1.5 MB.
    const body = await readAll(r.signal ? addAbortSignal(r.signal, res.body) : res.body);
    return parseListObjectsV2(body.toString('utf8'));
  }
  const out = await client.send(
    new ListObjectsV2Command({
      Bucket: r.bucket,
      Prefix: r.prefix || undefined,
      StartAfter: r.startAfter || undefined,
      ContinuationToken: r.continuationToken,
      MaxKeys: r.maxKeys,
    }),
    { abortSignal: r.signal },
  );
  return {
    contents: (out.Contents ?? [])
      .filter((o) => o.Key !== undefined)
      .map((o) => ({
        key: o.Key!,
        size: o.Size ?? 0,
        etag: o.ETag,
        lastModified: o.LastModified?.toISOString(),
      })),
    isTruncated: out.IsTruncated ?? false,
    nextContinuationToken: out.NextContinuationToken,
  };
}

/** The body of a ListObjectsV2 answer. */
export function parseListObjectsV2(xml: string): ListObjectsPage {
  const root = xml.indexOf('<ListBucketResult');
  if (root < 0) throw new ListXmlError('a ListObjectsV2 answer without <ListBucketResult>');
  const contents: ListedEntry[] = [];
  let outside = '';
  let at = root;
  for (;;) {
    const start = xml.indexOf('<Contents>', at);
    if (start < 0) break;
    const end = xml.indexOf('</Contents>', start);
    if (end < 0) throw new ListXmlError('a <Contents> element without its end');
    outside += xml.slice(at, start);
    const entry = xml.slice(start + 10, end);
    const key = field(entry, 'Key');
    if (key !== undefined) {
      const size = field(entry, 'Size');
      const modified = field(entry, 'LastModified');
      contents.push({
        key,
        size: size === undefined ? 0 : Number(size),
        etag: field(entry, 'ETag'),
        lastModified: modified === undefined ? undefined : isoDate(modified),
      });
    }
    at = end + 11;
  }
  outside += xml.slice(at);
  return {
    contents,
    isTruncated: field(outside, 'IsTruncated') === 'true',
    nextContinuationToken: field(outside, 'NextContinuationToken') || undefined,
  };
}

/** The text of the first `<name>` element in `xml` (an empty element: ""), or undefined. */
function field(xml: string, name: string): string | undefined {
  const open = xml.indexOf(`<${name}>`);
  if (open < 0) return xml.includes(`<${name}/>`) ? '' : undefined;
  const from = open + name.length + 2;
  const close = xml.indexOf(`</${name}>`, from);
  if (close < 0) throw new ListXmlError(`a <${name}> element without its end`);
  return text(xml.slice(from, close));
}

/** Character data: CDATA sections as they are, entities decoded elsewhere; no markup inside a field. */
function text(raw: string): string {
  if (!raw.includes('<')) return decodeEntities(raw);
  let out = '';
  let at = 0;
  for (;;) {
    const cdata = raw.indexOf('<![CDATA[', at);
    const plain = raw.slice(at, cdata < 0 ? raw.length : cdata);
    if (plain.includes('<')) throw new ListXmlError('markup inside a ListObjectsV2 field');
    out += decodeEntities(plain);
    if (cdata < 0) return out;
    const end = raw.indexOf(']]>', cdata + 9);
    if (end < 0) throw new ListXmlError('a CDATA section without its end');
    out += raw.slice(cdata + 9, end);
    at = end + 3;
  }
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(?:#x([0-9a-fA-F]{1,6})|#(\d{1,7})|([a-zA-Z]+));/g, (whole, hex, dec, named) => {
    if (named !== undefined) {
      const v = NAMED[named];
      if (v === undefined) throw new ListXmlError(`an unknown XML entity ${whole} in a ListObjectsV2 answer`);
      return v;
    }
    const code = hex !== undefined ? parseInt(hex, 16) : parseInt(dec, 10);
    if (code > 0x10ffff) throw new ListXmlError(`a character reference out of range: ${whole}`);
    return String.fromCodePoint(code);
  });
}

function isoDate(s: string): string {
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new ListXmlError(`a LastModified that is not a date: "${s}"`);
  return new Date(t).toISOString();
}
