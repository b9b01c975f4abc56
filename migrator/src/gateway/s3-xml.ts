/**
 * S3's XML documents, both ways: the error document and the results the gateway sends (ListBucketResult of ListObjects
 * and ListObjectsV2, DeleteResult, InitiateMultipartUploadResult, CompleteMultipartUploadResult), and the two request
 * bodies it reads (Delete, CompleteMultipartUpload), parsed with the SDK's own XML parser (@aws-sdk/xml-builder).
 * Shapes follow the Amazon S3 API Reference pages of each operation. A body that does not parse or does not have the
 * shape is MalformedXML, never an exception out of here.
 */
import { parseXML } from '@aws-sdk/xml-builder';
import type { ListPage } from '../store';
import { malformedXml, S3Error } from './errors';
import { uriEncode } from './sigv4-verify';

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const el = (name: string, value: string | number | boolean | undefined): string =>
  value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;

export function errorXml(e: S3Error, resource: string, requestId: string): string {
  return `${HEAD}<Error>${el('Code', e.code)}${el('Message', e.message)}${el('Resource', resource)}${el('RequestId', requestId)}</Error>`;
}

export interface ListV2Params {
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter?: string;
  readonly maxKeys: number;
  readonly continuationToken?: string;
  readonly nextContinuationToken?: string;
  readonly startAfter?: string;
  /** encoding-type=url: keys, prefixes, delimiter and start-after URL-encoded. */
  readonly urlEncode: boolean;
}

/** The Contents and CommonPrefixes of a listing page, the same in ListObjects and ListObjectsV2. */
function listEntries(page: ListPage, enc: (s: string) => string): { contents: string; prefixes: string } {
  const contents = page.objects
    .map(
      (o) =>
        `<Contents>${el('Key', enc(o.key))}${el('LastModified', o.lastModified?.toISOString())}${el('ETag', o.etag)}${el('Size', o.size)}${el('StorageClass', 'STANDARD')}</Contents>`,
    )
    .join('');
  const prefixes = page.prefixes.map((pr) => `<CommonPrefixes>${el('Prefix', enc(pr))}</CommonPrefixes>`).join('');
  return { contents, prefixes };
}

export function listV2Xml(p: ListV2Params, page: ListPage): string {
  const enc = (s: string) => (p.urlEncode ? uriEncode(s, true) : s);
  const { contents, prefixes } = listEntries(page, enc);
  return (
    `${HEAD}<ListBucketResult xmlns="${S3_NS}">${el('Name', p.bucket)}${el('Prefix', enc(p.prefix))}` +
    `${p.delimiter ? el('Delimiter', enc(p.delimiter)) : ''}${el('MaxKeys', p.maxKeys)}${el('KeyCount', page.objects.length + page.prefixes.length)}` +
    `${el('IsTruncated', page.truncated)}${p.urlEncode ? el('EncodingType', 'url') : ''}${el('ContinuationToken', p.continuationToken)}` +
    `${el('NextContinuationToken', p.nextContinuationToken)}${p.startAfter !== undefined ? el('StartAfter', enc(p.startAfter)) : ''}${contents}${prefixes}</ListBucketResult>`
  );
}

export interface ListV1Params {
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter?: string;
  readonly maxKeys: number;
  readonly marker: string;
  readonly nextMarker?: string;
  readonly urlEncode: boolean;
}

/**
 * ListObjects (version 1): the ListBucketResult with Marker and, when truncated, NextMarker (Amazon S3 API Reference,
 * ListObjects: S3 sends NextMarker only with a delimiter, and clients then take the last Key; sending it always is
 * what the clients read first).
 */
export function listV1Xml(p: ListV1Params, page: ListPage): string {
  const enc = (s: string) => (p.urlEncode ? uriEncode(s, true) : s);
  const { contents, prefixes } = listEntries(page, enc);
  return (
    `${HEAD}<ListBucketResult xmlns="${S3_NS}">${el('Name', p.bucket)}${el('Prefix', enc(p.prefix))}${el('Marker', enc(p.marker))}` +
    `${p.nextMarker !== undefined ? el('NextMarker', enc(p.nextMarker)) : ''}${el('MaxKeys', p.maxKeys)}` +
    `${p.delimiter ? el('Delimiter', enc(p.delimiter)) : ''}${el('IsTruncated', page.truncated)}` +
    `${p.urlEncode ? el('EncodingType', 'url') : ''}${contents}${prefixes}</ListBucketResult>`
  );
}

export interface DeleteOutcome {
  readonly key: string;
  readonly error?: S3Error;
}

export function deleteResultXml(outcomes: readonly DeleteOutcome[], quiet: boolean): string {
  const body = outcomes
    .map((o) =>
      o.error
        ? `<Error>${el('Key', o.key)}${el('Code', o.error.code)}${el('Message', o.error.message)}</Error>`
        : quiet
          ? ''
          : `<Deleted>${el('Key', o.key)}</Deleted>`,
    )
    .join('');
  return `${HEAD}<DeleteResult xmlns="${S3_NS}">${body}</DeleteResult>`;
}

export function initiateMultipartXml(bucket: string, key: string, uploadId: string): string {
  return `${HEAD}<InitiateMultipartUploadResult xmlns="${S3_NS}">${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', uploadId)}</InitiateMultipartUploadResult>`;
}

export function completeMultipartXml(location: string, bucket: string, key: string, etag: string | undefined): string {
  return `${HEAD}<CompleteMultipartUploadResult xmlns="${S3_NS}">${el('Location', location)}${el('Bucket', bucket)}${el('Key', key)}${el('ETag', etag)}</CompleteMultipartUploadResult>`;
}

export function locationXml(region: string): string {
  return `${HEAD}<LocationConstraint xmlns="${S3_NS}">${region === 'us-east-1' ? '' : escapeXml(region)}</LocationConstraint>`;
}

function parse(xml: string, root: string): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = parseXML(xml) as Record<string, unknown>;
  } catch {
    throw malformedXml();
  }
  const top = doc[root];
  if (!top || typeof top !== 'object') throw malformedXml();
  return top as Record<string, unknown>;
}

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : v === '' ? '' : undefined);

/** The keys of a DeleteObjects body (1 to 1000 of them, S3's limit) and whether it asks for a quiet answer. */
export function parseDelete(xml: string): { keys: string[]; quiet: boolean } {
  const top = parse(xml, 'Delete');
  const keys = list(top.Object).map((o) => {
    const key = o && typeof o === 'object' ? text((o as Record<string, unknown>).Key) : undefined;
    if (key === undefined) throw malformedXml();
    return key;
  });
  if (keys.length === 0 || keys.length > 1000) throw malformedXml();
  return { keys, quiet: text(top.Quiet) === 'true' };
}

/** The parts of a CompleteMultipartUpload body, in ascending part number (InvalidPartOrder otherwise). */
export function parseComplete(xml: string): { partNumber: number; etag: string }[] {
  const top = parse(xml, 'CompleteMultipartUpload');
  const parts = list(top.Part).map((p) => {
    const rec = p && typeof p === 'object' ? (p as Record<string, unknown>) : {};
    const n = Number(text(rec.PartNumber));
    const etag = text(rec.ETag);
    if (!Number.isInteger(n) || n < 1 || n > 10000 || !etag) throw malformedXml();
    return { partNumber: n, etag };
  });
  if (!parts.length) throw malformedXml();
  for (let i = 1; i < parts.length; i++) {
    if (parts[i].partNumber <= parts[i - 1].partNumber)
      throw new S3Error(
        'InvalidPartOrder',
        400,
        'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
      );
  }
  return parts;
}
