/**
 * The store's heartbeat: a line every interval with the counters since the previous beat, a last one on close, an
 * unref'd timer; its variable (PHOTO_STORE_HEARTBEAT_MS) and its parser (what the audit reads back).
 */
import { S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { HEARTBEAT_DEFAULT_MS, storeConfigFromEnv } from '../../migrator/src/store/config';
import { StoreCounters } from '../../migrator/src/store/counters';
import { HEARTBEAT_EVENT, heartbeatFields, parseHeartbeat } from '../../migrator/src/store/fallback-events';
import { StoreHeartbeat } from '../../migrator/src/store/heartbeat';
import { NewSide } from '../../migrator/src/store/new-side';
import { PhotoStore } from '../../migrator/src/store/store';
import { ConfigError } from '../../workspaces/errors';

/** A pino logger as the store's (ISO times), writing into an array. */
function memoryLogger() {
  const lines: string[] = [];
  const log = pino(
    { base: undefined, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    { write: (s: string) => void lines.push(s.trimEnd()) },
  );
  return {
    log,
    lines,
    beats: () => lines.map((l) => JSON.parse(l) as Record<string, any>).filter((r) => r.event === HEARTBEAT_EVENT),
  };
}

describe('the heartbeat', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-26T10:00:00.000Z') }));
  afterEach(() => jest.useRealTimers());

  test('a line every interval with the counters since the previous beat; consecutive beats leave no gap', () => {
    const { log, beats } = memoryLogger();
    const counters = new StoreCounters();
    const hb = new StoreHeartbeat({ log, counters, mode: 'dual-read', intervalMs: 60_000 });
    hb.start();
    counters.fallbackHit();
    counters.fallbackHit();
    counters.read('legacy');
    jest.advanceTimersByTime(60_000);
    counters.read('new');
    jest.advanceTimersByTime(60_000);
    const [a, b] = beats();
    expect(beats()).toHaveLength(2);
    expect(a).toMatchObject({
      level: 'info',
      time: '2026-11-26T10:01:00.000Z',
      event: 'store.heartbeat',
      instance: hb.instance,
      mode: 'dual-read',
      intervalMs: 60_000,
      periodMs: 60_000,
      beat: 1,
      counts: { fallbackHits: 2, reads: { new: 0, legacy: 1 }, errors: { new: 0, legacy: 0 } },
      msg: 'store heartbeat',
    });
    expect(a.final).toBeUndefined();
    expect(b).toMatchObject({
      time: '2026-11-26T10:02:00.000Z',
      periodMs: 60_000,
      beat: 2,
      counts: { fallbackHits: 0, reads: { new: 1, legacy: 0 } },
    });
    expect(Date.parse(b.time) - b.periodMs).toBe(Date.parse(a.time));
    expect(hb.instance).toMatch(new RegExp(`^${process.pid}-[0-9a-f]{8}$`));
    hb.stop();
  });

  test('close() writes a last beat for the part-period, once; then nothing more', async () => {
    const { log, beats } = memoryLogger();
    // A new-only store needs its new side; this test never sends a request through it.
    const newSide = new NewSide(new S3Client({ region: 'us-east-1' }), 'new', { ServerSideEncryption: 'AES256' });
    const store = new PhotoStore('new-only', newSide, undefined, log, undefined, 4, { heartbeatMs: 1_000 });
    jest.advanceTimersByTime(2_500);
    store.counters.write();
    await store.close();
    await store.close();
    jest.advanceTimersByTime(10_000);
    expect(beats().map((b) => [b.beat, b.periodMs, b.final ?? false, b.counts.writes, b.mode])).toEqual([
      [1, 1_000, false, 0, 'new-only'],
      [2, 1_000, false, 0, 'new-only'],
      [3, 500, true, 1, 'new-only'],
    ]);
  });

  test('its timer never keeps the process alive, and each store is its own instance', () => {
    const { log } = memoryLogger();
    const spy = jest.spyOn(global, 'setInterval');
    const a = new StoreHeartbeat({ log, counters: new StoreCounters(), mode: 'dual-read', intervalMs: 1_000 });
    a.start();
    const timer = spy.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    const b = new StoreHeartbeat({ log, counters: new StoreCounters(), mode: 'dual-read', intervalMs: 1_000 });
    expect(b.instance).not.toBe(a.instance);
    a.stop();
    spy.mockRestore();
  });
});

describe('PHOTO_STORE_HEARTBEAT_MS', () => {
  const env = (extra: Record<string, string> = {}) => ({
    PHOTO_STORE_MODE: 'new-only',
    PHOTO_STORE_BUCKET: 'photos',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    ...extra,
  });

  test('defaults to a minute; takes whole milliseconds from 100 to 15 minutes', () => {
    expect(HEARTBEAT_DEFAULT_MS).toBe(60_000);
    expect(storeConfigFromEnv(env()).heartbeatMs).toBe(60_000);
    expect(storeConfigFromEnv(env({ PHOTO_STORE_HEARTBEAT_MS: '250' })).heartbeatMs).toBe(250);
    for (const bad of ['0', '99', '900001', '1.5', 'soon']) {
      expect(() => storeConfigFromEnv(env({ PHOTO_STORE_HEARTBEAT_MS: bad }))).toThrow(
        new ConfigError(`PHOTO_STORE_HEARTBEAT_MS must be a whole number from 100 to 900000 (got "${bad}")`),
      );
    }
  });
});

describe('parseHeartbeat', () => {
  const line = (fields: Record<string, unknown>) =>
    JSON.stringify({
      level: 'info',
      time: '2026-11-26T10:01:00.000Z',
      name: 'photo-service',
      ...fields,
      msg: 'store heartbeat',
    });
  const counts = {
    reads: { new: 0, legacy: 0 },
    fallbackHits: 3,
    fallbackMisses: 0,
    notFound: 0,
    writes: 0,
    deletes: 0,
    errors: { new: 0, legacy: 0 },
    copies: { written: 0, existed: 0, undone: 0, failed: 0, skipped: 0 },
  };
  const beat = heartbeatFields({
    instance: '42-0a0b0c0d',
    mode: 'dual-read',
    intervalMs: 60_000,
    periodMs: 59_998,
    beat: 3,
    counts,
  });

  test('reads the instance, mode, time, period and the fallback hits counted', () => {
    expect(parseHeartbeat(line(beat))).toEqual({
      instance: '42-0a0b0c0d',
      mode: 'dual-read',
      time: new Date('2026-11-26T10:01:00.000Z'),
      periodMs: 59_998,
      fallbackHits: 3,
    });
    expect(parseHeartbeat(line({ ...beat, counts: undefined }))).toMatchObject({ fallbackHits: 0 });
  });

  test.each([
    ['a fallback hit', { event: 'store.fallback_hit', key: 'k' }],
    ['no instance', { ...beat, instance: undefined }],
    ['no period', { ...beat, periodMs: undefined }],
    ['a negative period', { ...beat, periodMs: -1 }],
    ['no usable time', { ...beat, time: 'yesterday' }],
  ])('ignores %s', (_what, fields) => {
    expect(parseHeartbeat(line(fields))).toBeUndefined();
  });
});
