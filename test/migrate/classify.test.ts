import { CodecError } from '../../migrator/src/codec/codec';
import { classify, PermanentCopyError } from '../../migrator/src/migrate/classify';

const s3err = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

describe('classify', () => {
  test.each([
    ['503 SlowDown', s3err('SlowDown', 503), 'temporary', true],
    ['503 without a code (RGW)', s3err('Unknown', 503), 'temporary', true],
    ['429', s3err('TooManyRequests', 429), 'temporary', true],
    ['500 InternalError', s3err('InternalError', 500), 'temporary', false],
    ['409 ConditionalRequestConflict', s3err('ConditionalRequestConflict', 409), 'temporary', false],
    ['400 ExpiredToken', s3err('ExpiredToken', 400, 'The provided token has expired.'), 'temporary', false],
    ['ECONNRESET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'temporary', false],
    ['TimeoutError', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'temporary', false],
    ['a bug (no HTTP answer)', new TypeError('x is undefined'), 'temporary', false],
    ['403 AccessDenied', s3err('AccessDenied', 403), 'permanent', false],
    ['400 InvalidArgument', s3err('InvalidArgument', 400), 'permanent', false],
    ['codec auth', new CodecError('auth', 'tag'), 'permanent', false],
    ['codec truncated', new CodecError('truncated', 'short'), 'permanent', false],
    ['source changed', new PermanentCopyError('SourceChangedAfterCopy', 'older copy'), 'permanent', false],
  ])('%s', (_name, err, kind, throttle) => {
    const c = classify(err);
    expect(c.kind).toBe(kind);
    expect(c.throttle).toBe(throttle);
    expect(c.message).not.toContain('\n');
  });

  test('codes for the report', () => {
    expect(classify(new CodecError('format', 'x')).code).toBe('Codec.format');
    expect(classify(s3err('Unknown', 503)).code).toBe('SlowDown');
    expect(classify(s3err('AccessDenied', 403))).toMatchObject({ code: 'AccessDenied', httpStatus: 403 });
  });
});
