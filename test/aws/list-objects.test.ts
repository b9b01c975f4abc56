/**
 * ListObjectsV2 pages (migrator/src/aws/list-objects.ts): the light path's reading of the XML against the SDK's own
 * deserializer on the same bodies (as RGW 16 and AWS write them: entities, character references for control
 * characters, astral characters, CDATA, empty elements, a truncated page with its token), the answers it refuses, and
 * the request it sends (signed, its query string) on a client with the light path, through the SDK on one without.
 * The same comparison against the real RGW: test/integration/list-objects-rig.test.ts.
 */
import { Readable } from 'stream';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { HttpResponse } from '@smithy/core/protocols';
import { enableLightPath } from '../../migrator/src/aws/light-s3';
import { ListXmlError, listObjectsPage, parseListObjectsV2 } from '../../migrator/src/aws/list-objects';

const KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
}

/** A client whose every request is answered 200 with `xml`; `sent` holds what it sent. */
function answering(xml: string, light: boolean): { client: S3Client; sent: Sent[] } {
  const sent: Sent[] = [];
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: KEYS,
    requestHandler: {
      handle: async (req: Sent) => {
        sent.push({ method: req.method, path: req.path, query: { ...req.query }, headers: { ...req.headers } });
        return {
          response: new HttpResponse({
            statusCode: 200,
            headers: { 'content-type': 'application/xml' },
            body: Readable.from([Buffer.from(xml)]),
          }),
        };
      },
    },
  });
  return { client, sent: light ? (enableLightPath(client, 'light'), sent) : sent };
}

/** What the SDK's ListObjectsV2Command makes of `xml`, in the page's shape. */
async function sdkPage(xml: string) {
  const { client } = answering(xml, false);
  const out = await client.send(new ListObjectsV2Command({ Bucket: 'b' }));
  client.destroy();
  return {
    contents: (out.Contents ?? []).map((o) => ({
      key: o.Key,
      size: o.Size ?? 0,
      etag: o.ETag,
      lastModified: o.LastModified?.toISOString(),
    })),
    isTruncated: out.IsTruncated ?? false,
    nextContinuationToken: out.NextContinuationToken,
  };
}

const entry = (key: string, size: number, extra = '') =>
  `<Contents><Key>${key}</Key><LastModified>2026-12-02T09:47:34.780Z</LastModified><ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>${size}</Size><StorageClass>STANDARD</StorageClass>${extra}</Contents>`;

const BODIES: Record<string, string> = {
  'RGW 16: odd keys, escaped as RGW escapes them, not truncated':
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>chatapp-legacy-photos</Name><Prefix>chats/</Prefix><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>' +
    entry(
      'chats/a b+c%20d.jpg',
      65536,
      '<Owner><ID>legacy$chatapp-s3</ID><DisplayName>x</DisplayName></Owner><Type>Normal</Type>',
    ) +
    entry('chats/&amp;&lt;&gt;&quot;&apos;.jpg', 1) +
    entry('chats/ü/ñ/日本.jpg', 2) +
    entry('chats/😀', 3) +
    entry('chats/ctl&#1;&#x1f;&#13;end', 4) +
    entry(`chats/${'k'.repeat(1018)}`, 0) +
    '<KeyCount>6</KeyCount></ListBucketResult>',
  "AWS: a truncated page, its token, the owner and checksum fields, a key that names the page's own tags":
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>photos-prod</Name><Prefix></Prefix><StartAfter>a</StartAfter><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>' +
    entry(
      '&lt;IsTruncated&gt;false&lt;/IsTruncated&gt;',
      10,
      '<ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>',
    ) +
    entry('&lt;NextContinuationToken&gt;x&lt;/NextContinuationToken&gt;', 11) +
    '<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>',
  'an empty page':
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><Prefix>none/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>',
  'CDATA in a key, an empty ETag and no Size': `<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>cd/<![CDATA[a<b>&amp;]]>z&amp;</Key><ETag/><LastModified>2026-01-02T03:04:05.000Z</LastModified></Contents></ListBucketResult>`,
};

describe("the light path's reading of a page is the SDK's", () => {
  for (const [what, xml] of Object.entries(BODIES)) {
    test(what, async () => {
      const mine = parseListObjectsV2(xml);
      expect(mine).toEqual(JSON.parse(JSON.stringify(await sdkPage(xml))));
      expect(mine.contents.length).toBe((xml.match(/<Contents>/g) ?? []).length);
    });
  }

  test('the characters come out as they were stored', () => {
    const keys = parseListObjectsV2(
      BODIES['RGW 16: odd keys, escaped as RGW escapes them, not truncated'],
    ).contents.map((c) => c.key);
    expect(keys).toContain('chats/&<>"\'.jpg');
    expect(keys).toContain('chats/😀');
    expect(keys).toContain('chats/ctl\u0001\u001f\rend');
    expect(keys[5]).toHaveLength(1024);
    const page = parseListObjectsV2(
      BODIES["AWS: a truncated page, its token, the owner and checksum fields, a key that names the page's own tags"],
    );
    expect(page).toMatchObject({
      isTruncated: true,
      nextContinuationToken: '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=',
    });
    expect(page.contents.map((c) => c.key)).toEqual([
      '<IsTruncated>false</IsTruncated>',
      '<NextContinuationToken>x</NextContinuationToken>',
    ]);
  });
});

test("a character reference beyond U+FFFF is that character (the SDK's parser, with String.fromCharCode, cuts it to 16 bits; RGW and S3 write such characters as UTF-8, never as a reference)", async () => {
  const xml = '<ListBucketResult><Contents><Key>&#x1F600;&#128512;</Key></Contents></ListBucketResult>';
  expect(parseListObjectsV2(xml).contents[0].key).toBe('😀😀');
  expect((await sdkPage(xml)).contents[0].key).not.toBe('😀😀');
});

describe('answers that are not a ListObjectsV2 page are refused, never read as a shorter page', () => {
  test.each([
    ['not XML', 'Service Unavailable'],
    ['an element cut short', '<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key>'],
    ['a field cut short', '<ListBucketResult><Contents><Key>a</Contents></ListBucketResult>'],
    ['an entity XML does not define', '<ListBucketResult><Contents><Key>a&nbsp;b</Key></Contents></ListBucketResult>'],
    ['markup inside a field', '<ListBucketResult><Contents><Key>a<b/>c</Key></Contents></ListBucketResult>'],
    [
      'a date that is not one',
      '<ListBucketResult><Contents><Key>a</Key><LastModified>yesterday</LastModified></Contents></ListBucketResult>',
    ],
  ])('%s', (_what, xml) => {
    expect(() => parseListObjectsV2(xml)).toThrow(ListXmlError);
  });
});

describe('the request', () => {
  const xml = BODIES['an empty page'];
  const request = {
    bucket: 'chatapp-legacy-photos',
    prefix: 'chats/a b+/',
    startAfter: 'chats/a b+/ü',
    continuationToken: '1/2+3=',
    maxKeys: 33,
  };

  test('on the light path: one signed GET on the bucket with the query the SDK sends, without the SDK', async () => {
    const light = answering(xml, true);
    const send = jest.spyOn(light.client, 'send');
    await expect(listObjectsPage(light.client, request)).resolves.toEqual({ contents: [], isTruncated: false });
    expect(send).not.toHaveBeenCalled();
    const sdk = answering(xml, false);
    await listObjectsPage(sdk.client, request);
    expect(light.sent).toHaveLength(1);
    const [a, b] = [light.sent[0], sdk.sent[0]];
    expect({ method: a.method, path: a.path, query: a.query }).toEqual({
      method: b.method,
      path: b.path,
      query: b.query,
    });
    expect(a.query).toEqual({
      'list-type': '2',
      prefix: 'chats/a b+/',
      'start-after': 'chats/a b+/ü',
      'continuation-token': '1/2+3=',
      'max-keys': '33',
    });
    expect(a.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\//);
    light.client.destroy();
    sdk.client.destroy();
  });

  test('without the light path: through the SDK, the same page', async () => {
    const body = BODIES['RGW 16: odd keys, escaped as RGW escapes them, not truncated'];
    const { client } = answering(body, false);
    const send = jest.spyOn(client, 'send');
    const page = await listObjectsPage(client, { bucket: 'b' });
    expect(send).toHaveBeenCalledTimes(1);
    expect(page).toEqual(parseListObjectsV2(body));
    client.destroy();
  });
});
