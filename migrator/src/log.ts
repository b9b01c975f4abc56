/**
 * JSON log lines (pino) on stderr. Anything that looks like a credential is redacted by path, and nothing in this
 * package logs keys or secrets in the first place.
 */
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

const REDACT = [
  'credentials',
  '*.credentials',
  '*.secretAccessKey',
  '*.SecretAccessKey',
  '*.sessionToken',
  '*.SessionToken',
  '*.accessKeyId',
  '*.AccessKeyId',
  '*.keys',
  'keys',
  '*.authorization',
  '*.Authorization',
];

export function createLogger(
  opts: { name: string; level?: string; destination?: number | string } = { name: 'bucketmove' },
): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.BUCKETMOVE_LOG_LEVEL ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: opts.destination ?? 2, sync: true }),
  );
}
