/**
 * How every command ends: its exit code, or one line on stderr for a mistake in the input (no stack trace).
 * BUCKETMOVE_DEBUG=1 adds the stack of unexpected errors.
 */
import type { Argv } from 'yargs';
import { ConfigError } from '../../../workspaces/load';
import { parseS3Url } from '../sources/manifest-object';

/** A bad flag or argument. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT = {
  ok: 0,
  /** Objects failed or were quarantined / the audit found problems. */
  failed: 1,
  /** Bad input: flags, workspace, credentials, endpoints. Nothing was written. */
  usage: 2,
  /** Stopped before the end (--limit reached, or interrupted): objects remain pending. */
  incomplete: 3,
  interrupted: 130,
} as const;

export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim();
}

export function runCli(command: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const expected = err instanceof ConfigError || err instanceof UsageError;
      process.stderr.write(`${command}: ${oneLine(err)}\n`);
      if (!expected && process.env.BUCKETMOVE_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
      process.exitCode = expected ? EXIT.usage : EXIT.failed;
    },
  );
}

/** Throws a UsageError unless `v` (a flag's value, when given) is a whole number in [min, max]. */
export function checkWhole(name: string, v: number | undefined, min: number, max = Infinity): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) {
    throw new UsageError(`--${name} must be a whole number from ${min}${max < Infinity ? ` to ${max}` : ''} (got ${v})`);
  }
}

/** An s3://bucket/key flag (sources/manifest-object.ts parseS3Url), refused as a UsageError naming the flag. */
export function checkS3Url(name: string, v: string | undefined): void {
  if (v === undefined) return;
  try {
    parseS3Url(v);
  } catch (err) {
    throw new UsageError(`--${name} ${(err as Error).message}`);
  }
}

/** How every command parses: unknown flags refused, --help, no --version, and every problem a one-line UsageError. */
export function parseStrict<T>(y: Argv<T>): T {
  return y
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs spreads some messages over lines ("Invalid values:\n  Argument: ..."): one line, all of it.
      throw err instanceof UsageError ? err : new UsageError(`${String(msg ?? err?.message).replace(/\s*\n\s*/g, ' ')}; see --help`);
    })
    .parseSync() as T;
}
