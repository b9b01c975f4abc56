/** The fallback-hit line's parser and counter (what the audit counts from a local JSON-lines log). */
import * as fs from 'fs';
import * as path from 'path';
import {
  countFallbackHits,
  countFallbackHitsInFile,
  FALLBACK_HIT_EVENT,
  FALLBACK_HITS_QUERY,
  fallbackHitFields,
  FallbackHitCounter,
  parseFallbackHit,
} from '../../migrator/src/store/fallback-events';
import { tmpDirPerFile } from '../helpers/tmp';

const tmpDir = tmpDirPerFile('bm-fallback-');
const hit = (key: string, time?: string | number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    level: 'info',
    ...(time !== undefined ? { time } : {}),
    name: 'photo-service',
    ...fallbackHitFields(key, 'get', 'dual-read'),
    msg: 'served from the legacy bucket',
    ...extra,
  });

test('the event name is stable, and the Logs Insights query filters on it', () => {
  expect(FALLBACK_HIT_EVENT).toBe('store.fallback_hit');
  expect(FALLBACK_HITS_QUERY).toBe(
    'filter event = "store.fallback_hit"\n| stats count(*) as fallbackHits, count_distinct(key) as keys',
  );
  expect(fallbackHitFields('a/b.jpg', 'head', 'dual-read')).toEqual({
    event: 'store.fallback_hit',
    key: 'a/b.jpg',
    op: 'head',
    mode: 'dual-read',
  });
});

describe('parseFallbackHit', () => {
  test('reads the key, the operation and the time of a hit line', () => {
    expect(parseFallbackHit(hit('chats/1/p.jpg', '2026-11-26T10:00:00.000Z'))).toEqual({
      key: 'chats/1/p.jpg',
      op: 'get',
      time: new Date('2026-11-26T10:00:00.000Z'),
    });
    expect(parseFallbackHit(`  ${hit('k', 1764151200000)}\r`)).toEqual({
      key: 'k',
      op: 'get',
      time: new Date(1764151200000),
    });
    expect(parseFallbackHit(hit('k'))).toEqual({ key: 'k', op: 'get' });
    expect(parseFallbackHit(hit('k', 'not a time'))).toEqual({ key: 'k', op: 'get' });
  });

  test.each([
    ['an empty line', ''],
    ['npm banner', '> bucketmove@0.1.0 photo-service'],
    ['another event', JSON.stringify({ event: 'service.listening', port: 8080 })],
    ['the event name in a message only', JSON.stringify({ event: 'service.error', msg: 'store.fallback_hit' })],
    ['no key', JSON.stringify({ event: FALLBACK_HIT_EVENT })],
    ['a key that is not a string', JSON.stringify({ event: FALLBACK_HIT_EVENT, key: 42 })],
    ['broken JSON', `{"event":"${FALLBACK_HIT_EVENT}","key":"k"`],
    ['a JSON array', `["${FALLBACK_HIT_EVENT}"]`],
  ])('ignores %s', (_name, line) => {
    expect(parseFallbackHit(line)).toBeUndefined();
  });
});

describe('counting', () => {
  const lines = [
    '> bucketmove@0.1.0 photo-service',
    JSON.stringify({ event: 'service.listening' }),
    hit('a.jpg', '2026-11-26T09:00:00.000Z'),
    hit('b.jpg', '2026-11-26T10:00:00.000Z'),
    hit('a.jpg', '2026-11-26T11:00:00.000Z'),
    hit('c.jpg'),
    'garbage',
  ];

  test('counts hits, distinct keys, first and last, and every line read', () => {
    expect(countFallbackHits(lines)).toEqual({
      hits: 4,
      untimed: 1,
      distinctKeys: 3,
      distinctKeysCapped: false,
      sampleKeys: ['a.jpg', 'b.jpg', 'c.jpg'],
      first: new Date('2026-11-26T09:00:00.000Z'),
      last: new Date('2026-11-26T11:00:00.000Z'),
      lines: 7,
    });
  });

  test('a window keeps [since, until); a hit without a time is counted, since it cannot be ruled out', () => {
    const r = countFallbackHits(lines, {
      since: new Date('2026-11-26T10:00:00.000Z'),
      until: new Date('2026-11-26T11:00:00.000Z'),
    });
    expect(r).toMatchObject({
      hits: 2,
      untimed: 1,
      sampleKeys: ['b.jpg', 'c.jpg'],
      first: new Date('2026-11-26T10:00:00.000Z'),
      last: new Date('2026-11-26T10:00:00.000Z'),
    });
    expect(
      countFallbackHits([hit('x', '2026-01-01T00:00:00Z')], { since: new Date('2026-06-01T00:00:00Z') }),
    ).toMatchObject({ hits: 0, distinctKeys: 0, sampleKeys: [] });
  });

  test('no hits at all: zero, and no first or last', () => {
    const r = countFallbackHits([JSON.stringify({ event: 'service.stopped' })]);
    expect(r).toEqual({ hits: 0, untimed: 0, distinctKeys: 0, distinctKeysCapped: false, sampleKeys: [], lines: 1 });
  });

  test('the sample holds the first 20 distinct keys', () => {
    const counter = new FallbackHitCounter();
    for (let i = 0; i < 50; i++) counter.add(hit(`k${i % 30}`, '2026-11-26T10:00:00Z'));
    const r = counter.result();
    expect(r).toMatchObject({ hits: 50, distinctKeys: 30 });
    expect(r.sampleKeys).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`));
  });

  test('from a file, streamed line by line (CRLF too)', async () => {
    const file = path.join(tmpDir(), 'service.log');
    fs.writeFileSync(file, `${lines.join('\r\n')}\r\n`);
    expect(await countFallbackHitsInFile(file)).toMatchObject({ hits: 4, distinctKeys: 3, lines: 7 });
  });
});
