/**
 * The gateway's S3 layer without a network: routing (and the operation names NotImplemented reports), the XML
 * documents both ways (malformed bodies are MalformedXML, never an exception), the store-error mapping, ranges and
 * conditional headers, and the store's merged listing (migrator/src/store/list.ts) over fake sources.
 */
import { StoreError } from '../../migrator/src/store';
import { compareKeys, listMerged, type Entry, type ListSource } from '../../migrator/src/store/list';
import { s3CodeOf } from '../helpers/s3-error';
import { S3Error, s3ErrorOf } from '../../migrator/src/gateway/errors';
import { parseRange, preconditions } from '../../migrator/src/gateway/operations';
import { route, virtualHostBucket } from '../../migrator/src/gateway/routes';
import {
  deleteResultXml,
  errorXml,
  listV1Xml,
  listV2Xml,
  parseComplete,
  parseDelete,
} from '../../migrator/src/gateway/s3-xml';

const q = (s: string) =>
  new Map(
    s
      .split('&')
      .filter(Boolean)
      .map((p) => [p.split('=')[0], p.split('=')[1] ?? ''] as [string, string]),
  );
const op = (method: string, path: string, query = '', headers: Record<string, string> = {}) =>
  route(method, path, q(query), headers);
const codeOf = s3CodeOf;

describe('routes', () => {
  test('the served operations, path-style, keys decoded', () => {
    expect(op('GET', '/b/photos/a%20b.jpg')).toMatchObject({
      operation: 'GetObject',
      served: true,
      bucket: 'b',
      key: 'photos/a b.jpg',
    });
    expect(op('HEAD', '/b/k').operation).toBe('HeadObject');
    expect(op('PUT', '/b/k').operation).toBe('PutObject');
    expect(op('DELETE', '/b/k').operation).toBe('DeleteObject');
    expect(op('POST', '/b', 'delete').operation).toBe('DeleteObjects');
    expect(op('GET', '/b', 'list-type=2&prefix=x').operation).toBe('ListObjectsV2');
    expect(op('POST', '/b/k', 'uploads').operation).toBe('CreateMultipartUpload');
    expect(op('PUT', '/b/k', 'partNumber=1&uploadId=u').operation).toBe('UploadPart');
    expect(op('POST', '/b/k', 'uploadId=u').operation).toBe('CompleteMultipartUpload');
    expect(op('DELETE', '/b/k', 'uploadId=u').operation).toBe('AbortMultipartUpload');
    expect(op('HEAD', '/b').operation).toBe('HeadBucket');
    expect(op('GET', '/b/', 'location').operation).toBe('GetBucketLocation');
  });

  test('ListObjects (v1, no list-type=2) is served', () => {
    expect(op('GET', '/b', 'prefix=x&marker=m')).toMatchObject({ operation: 'ListObjects', served: true, bucket: 'b' });
  });

  test('virtual-hosted style: the bucket from Host (port dropped, case folded, longest served name), else path-style', () => {
    const buckets = ['chat-photos', 'chat-photos.eu', 'legacy'];
    expect(virtualHostBucket('chat-photos.gw.internal:9080', buckets)).toBe('chat-photos');
    expect(virtualHostBucket('Chat-Photos.EU.gw.internal', buckets)).toBe('chat-photos.eu');
    expect(virtualHostBucket('legacy.localhost', buckets)).toBe('legacy');
    for (const host of [
      '127.0.0.1:9080',
      'localhost',
      'gw.internal',
      'chat-photos',
      'chat-photos.',
      '[::1]:9080',
      undefined,
    ])
      expect(virtualHostBucket(host, buckets)).toBeUndefined();
  });

  test('everything else is named as S3 names it, and not served', () => {
    for (const [method, path, query, name, headers] of [
      ['GET', '/', '', 'ListBuckets'],
      ['GET', '/b', 'versions', 'ListObjectVersions'],
      ['GET', '/b', 'uploads', 'ListMultipartUploads'],
      ['PUT', '/b', '', 'CreateBucket'],
      ['DELETE', '/b', '', 'DeleteBucket'],
      ['GET', '/b', 'policy', 'GetBucketPolicy'],
      ['PUT', '/b', 'versioning', 'PutBucketVersioning'],
      ['PUT', '/b/k', 'tagging', 'PutObjectTagging'],
      ['GET', '/b/k', 'acl', 'GetObjectAcl'],
      ['GET', '/b/k', 'uploadId=u', 'ListParts'],
      ['PUT', '/b/k', '', 'CopyObject', { 'x-amz-copy-source': '/b/other' }],
      ['PUT', '/b/k', 'partNumber=1&uploadId=u', 'UploadPartCopy', { 'x-amz-copy-source': '/b/other' }],
    ] as [string, string, string, string, Record<string, string>?][]) {
      expect(op(method, path, query, headers)).toMatchObject({ operation: name, served: false });
    }
    expect(codeOf(() => op('PATCH', '/b/k'))).toBe('405 MethodNotAllowed');
    expect(codeOf(() => op('GET', '/b/%E0%A4%A'))).toBe('400 InvalidURI');
  });
});

describe('S3 XML', () => {
  test('the error document escapes what it carries', () => {
    const xml = errorXml(new S3Error('NoSuchKey', 404, 'The specified key does not exist.'), '/b/a&<b>', 'REQ1');
    expect(xml).toContain(
      '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Resource>/b/a&amp;&lt;b&gt;</Resource><RequestId>REQ1</RequestId></Error>',
    );
  });

  test('ListBucketResult, with encoding-type=url', () => {
    const page = {
      objects: [
        {
          key: 'a b&c.jpg',
          size: 3,
          etag: '"e"',
          lastModified: new Date('2026-01-02T03:04:05Z'),
          source: 'legacy' as const,
        },
      ],
      prefixes: ['d/'],
      truncated: true,
      last: 'd/',
    };
    const plain = listV2Xml(
      { bucket: 'b', prefix: '', delimiter: '/', maxKeys: 2, nextContinuationToken: 'T', urlEncode: false },
      page,
    );
    expect(plain).toContain(
      '<Key>a b&amp;c.jpg</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>3</Size>',
    );
    expect(plain).toContain('<KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>');
    expect(plain).toContain('<NextContinuationToken>T</NextContinuationToken>');
    expect(plain).toContain('<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>');
    expect(listV2Xml({ bucket: 'b', prefix: 'p q', maxKeys: 2, urlEncode: true }, page)).toContain(
      '<Key>a%20b%26c.jpg</Key>',
    );
  });

  test('ListObjects (v1) XML: Marker, NextMarker when truncated, the same Contents and CommonPrefixes', () => {
    const page = {
      objects: [{ key: 'a&b.jpg', size: 3, etag: '"e"', source: 'new' as const }],
      prefixes: ['d/'],
      truncated: true,
      last: 'd/',
    };
    const xml = listV1Xml(
      { bucket: 'b', prefix: '', delimiter: '/', maxKeys: 2, marker: 'a', nextMarker: 'd/', urlEncode: false },
      page,
    );
    expect(xml).toContain(
      '<Name>b</Name><Prefix></Prefix><Marker>a</Marker><NextMarker>d/</NextMarker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>',
    );
    expect(xml).toContain('<Key>a&amp;b.jpg</Key>');
    expect(xml).toContain('<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>');
    expect(xml).not.toContain('KeyCount');
    const last = listV1Xml(
      { bucket: 'b', prefix: 'p', maxKeys: 1000, marker: '', urlEncode: true },
      { ...page, truncated: false },
    );
    expect(last).not.toContain('NextMarker');
    expect(last).toContain('<EncodingType>url</EncodingType>');
  });

  test('DeleteObjects bodies: keys (entities decoded), Quiet; malformed or empty is MalformedXML', () => {
    expect(
      parseDelete(
        '<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key><VersionId>v</VersionId></Object></Delete>',
      ),
    ).toEqual({
      keys: ['a&b', 'c'],
      quiet: true,
    });
    for (const bad of [
      '',
      'not xml',
      '<Delete><Object><Key>a</Key></Delete>',
      '<Delete></Delete>',
      '<Other><Object><Key>a</Key></Object></Other>',
      '<Delete><Object></Object></Delete>',
    ]) {
      expect(codeOf(() => parseDelete(bad))).toBe('400 MalformedXML');
    }
    const many = `<Delete>${'<Object><Key>k</Key></Object>'.repeat(1001)}</Delete>`;
    expect(codeOf(() => parseDelete(many))).toBe('400 MalformedXML');
    expect(
      deleteResultXml([{ key: 'a' }, { key: 'b', error: new S3Error('InternalError', 500, 'x') }], true),
    ).toContain(
      '<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Error><Key>b</Key><Code>InternalError</Code>',
    );
  });

  test('CompleteMultipartUpload bodies: parts in order; malformed is MalformedXML, out of order InvalidPartOrder', () => {
    expect(
      parseComplete(
        '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"b"</ETag></Part></CompleteMultipartUpload>',
      ),
    ).toEqual([
      { partNumber: 1, etag: '"a"' },
      { partNumber: 2, etag: '"b"' },
    ]);
    expect(
      codeOf(() =>
        parseComplete(
          '<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>',
        ),
      ),
    ).toBe('400 InvalidPartOrder');
    for (const bad of [
      '<CompleteMultipartUpload/>',
      '<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>',
      '<CompleteMultipartUpload><Part>',
    ]) {
      expect(codeOf(() => parseComplete(bad))).toBe('400 MalformedXML');
    }
  });
});

test("the store's failures as S3 errors: nothing internal in the message", () => {
  expect(
    s3ErrorOf(new StoreError('unavailable', 'new', 'GetObject on the new bucket failed: ECONNRESET')),
  ).toMatchObject({ code: 'ServiceUnavailable', status: 503 });
  expect(
    s3ErrorOf(new StoreError('denied', 'legacy', 'GetObject on the legacy bucket failed: AccessDenied: ...')),
  ).toMatchObject({ code: 'InternalError', status: 500 });
  expect(s3ErrorOf(new StoreError('corrupt', 'legacy', 'decrypting failed'))).toMatchObject({
    code: 'InternalError',
    status: 500,
  });
  expect(
    s3ErrorOf(
      new StoreError('invalid-key', undefined, 'the photo key is longer than 1024 bytes (UTF-8), the most S3 allows'),
    ),
  ).toMatchObject({ code: 'KeyTooLongError', status: 400 });
  expect(
    s3ErrorOf(
      new StoreError(
        'failed',
        'new',
        'CompleteMultipartUpload on the new bucket failed: NoSuchUpload: The upload does not exist',
        'NoSuchUpload',
        404,
      ),
    ),
  ).toMatchObject({ code: 'NoSuchUpload', status: 404, message: 'The upload does not exist' });
  expect(
    s3ErrorOf(
      new StoreError('failed', undefined, 'CreateMultipartUpload: multipart upload needs ...', 'NotImplemented', 501),
    ),
  ).toMatchObject({ code: 'NotImplemented', status: 501 });
  expect(s3ErrorOf(new Error('boom'))).toMatchObject({ code: 'InternalError', status: 500 });
});

describe('Range and conditional headers', () => {
  test('one byte range; unsatisfiable is 416; other forms are ignored', () => {
    expect(parseRange('bytes=10-99', 1000)).toEqual({ start: 10, end: 99 });
    expect(parseRange('bytes=990-2000', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange('bytes=500-', 1000)).toEqual({ start: 500, end: 999 });
    expect(codeOf(() => parseRange('bytes=1000-', 1000))).toBe('416 InvalidRange');
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeUndefined();
    expect(parseRange('items=0-1', 1000)).toBeUndefined();
    expect(parseRange('bytes=9-1', 1000)).toBeUndefined();
    expect(parseRange('bytes=0-9', undefined)).toBeUndefined();
  });

  test('RFC 9110 order: If-Match / If-Unmodified-Since -> 412, If-None-Match / If-Modified-Since -> 304', () => {
    const info = {
      source: 'new' as const,
      etag: '"abc"',
      lastModified: new Date('2026-01-01T00:00:00.500Z'),
      metadata: {},
    };
    const pre = (h: Record<string, string>) => preconditions(info, (n) => h[n]);
    expect(pre({})).toBe(200);
    expect(pre({ 'if-match': '"abc"' })).toBe(200);
    expect(pre({ 'if-match': '"x", "abc"' })).toBe(200);
    expect(pre({ 'if-match': '"x"' })).toBe(412);
    expect(pre({ 'if-none-match': '"abc"' })).toBe(304);
    expect(pre({ 'if-none-match': '*' })).toBe(304);
    expect(pre({ 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' })).toBe(304);
    expect(pre({ 'if-modified-since': 'Wed, 31 Dec 2025 23:59:59 GMT' })).toBe(200);
    expect(pre({ 'if-unmodified-since': 'Wed, 31 Dec 2025 23:59:59 GMT' })).toBe(412);
    // S3's documented pairs: If-Match true + If-Unmodified-Since false -> 200; If-None-Match false + If-Modified-Since
    // true -> 304.
    expect(pre({ 'if-match': '"abc"', 'if-unmodified-since': 'Wed, 31 Dec 2025 23:59:59 GMT' })).toBe(200);
    expect(pre({ 'if-none-match': '"x"', 'if-modified-since': 'Wed, 31 Dec 2025 23:59:59 GMT' })).toBe(200);
  });
});

describe("the store's merged listing (list.ts)", () => {
  const obj = (key: string, size = 10): Entry => ({ kind: 'object', key, size, etag: `"${key}"` });
  /** A source over sorted entries, answering pages as S3 does (start-after, max keys). */
  function source(
    side: 'new' | 'legacy',
    entries: Entry[],
    extra: Partial<ListSource> = {},
  ): ListSource & { calls: number } {
    const sorted = [...entries].sort((a, b) => compareKeys(a.key, b.key));
    const s = {
      side,
      calls: 0,
      page: async (after: string | undefined, max: number) => {
        s.calls++;
        const rest = sorted.filter((e) => after === undefined || compareKeys(e.key, after) > 0);
        return { entries: rest.slice(0, max), truncated: rest.length > max };
      },
      ...extra,
    };
    return s;
  }

  test('both buckets in byte order, a key in both listed once from new, tombstones and what they bury hidden', async () => {
    const tomb = new Set(['b.jpg']);
    const n = source('new', [obj('a.jpg'), obj('b.jpg', 0), obj('d.jpg', 5)], { buried: async (k) => tomb.has(k) });
    const l = source(
      'legacy',
      [obj('b.jpg', 100), obj('c.jpg', 157), obj('d.jpg', 200), obj('é.jpg', 157), obj('z.jpg', 157)],
      { plainSize: (x) => x - 57 },
    );
    const page = await listMerged([n, l], { maxKeys: 1000 });
    expect(page.objects.map((o) => [o.key, o.source, o.size])).toEqual([
      ['a.jpg', 'new', 10],
      ['c.jpg', 'legacy', 100],
      ['d.jpg', 'new', 5],
      ['z.jpg', 'legacy', 100],
      ['é.jpg', 'legacy', 100],
    ]);
    expect(page.truncated).toBe(false);
  });

  test('pages: max keys, truncated, the next page from the last entry, nothing lost or repeated', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    const n = source(
      'new',
      keys.filter((_, i) => i % 2 === 0).map((k) => obj(k)),
      { buried: async () => false },
    );
    const l = source(
      'legacy',
      keys.filter((_, i) => i % 3 === 0).map((k) => obj(k)),
    );
    const seen: string[] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 50; guard++) {
      const page = await listMerged([n, l], { maxKeys: 4, startAfter: after });
      seen.push(...page.objects.map((o) => o.key));
      if (!page.truncated) break;
      after = page.last;
    }
    const expected = keys.filter((_, i) => i % 2 === 0 || i % 3 === 0);
    expect(seen).toEqual(expected);
  });

  test('common prefixes of both sides merged once; a page ending on a prefix continues past its keys', async () => {
    const pfx = (key: string): Entry => ({ kind: 'prefix', key });
    const n = source('new', [obj('a'), pfx('d1/'), pfx('d2/')], { buried: async () => false });
    const l = source('legacy', [pfx('d1/'), obj('e'), pfx('d3/')]);
    const first = await listMerged([n, l], { maxKeys: 2, delimiter: '/' });
    expect(first).toMatchObject({ prefixes: ['d1/'], truncated: true, last: 'd1/' });
    expect(first.objects.map((o) => o.key)).toEqual(['a']);
    const { nextStartAfter } = await import('../../migrator/src/store/list');
    const second = await listMerged([n, l], { maxKeys: 10, delimiter: '/', startAfter: nextStartAfter('d1/', '/') });
    expect(second.prefixes).toEqual(['d2/', 'd3/']);
    expect(second.objects.map((o) => o.key)).toEqual(['e']);
  });

  test('a common prefix with no visible key under it (all tombstones, or legacy copies they bury) is not listed', async () => {
    const pfx = (key: string): Entry => ({ kind: 'prefix', key });
    const n = source('new', [pfx('deleted/'), pfx('kept/'), obj('z')], { buried: async () => false });
    const l = source('legacy', [pfx('deleted/'), pfx('legacy-only/')]);
    const asked: string[] = [];
    const visible = async (prefix: string) => {
      asked.push(prefix);
      return prefix !== 'deleted/';
    };
    const page = await listMerged([n, l], { maxKeys: 1000, delimiter: '/' }, visible);
    expect(page.prefixes).toEqual(['kept/', 'legacy-only/']);
    expect(page.objects.map((o) => o.key)).toEqual(['z']);
    expect(asked).toEqual(['deleted/', 'kept/', 'legacy-only/']);
    // A page that ends on a hidden prefix still continues past it.
    const first = await listMerged([n, l], { maxKeys: 1, delimiter: '/' }, visible);
    expect(first).toMatchObject({ prefixes: ['kept/'], truncated: true, last: 'kept/' });
  });
});
