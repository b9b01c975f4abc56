/**
 * How every command ends: its exit code, or one line on stderr for a mistake in the input (no stack trace).
 * BUCKETMOVE_DEBUG=1 adds the stack of unexpected errors.
 */
import type { Argv } from 'yargs';
import { ConfigError, UsageError } from '../../../workspaces/errors';
import { credentialsProblem, describeAwsError, httpStatusOf, isServiceError } from '../aws/errors';
import { parseS3Url } from '../sources/manifest-object';
import { EXIT, exitCodesHelp, type ExitCode } from '../exit-codes';

export { EXIT };

/**
 * Whether `mod` is the program being run: started by node itself (`node dist/.../migrate.js`, ts-node), or by the
 * bucketmove launcher (bin/bucketmove.js), which loads it into its own process with process.argv[1] set to its file.
 */
export function isEntry(mod: NodeModule): boolean {
  return require.main === mod || process.argv[1] === mod.filename;
}

export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim();
}

/**
 * The one line and the exit code for an error that ended a command: bad input and configuration (ConfigError,
 * UsageError), missing or refused credentials (the SDK found none; a 401 or 403 answer) exit 2; an SDK error is told by
 * its operation, code, status and message (describeAwsError: never "UnknownError"); anything else exits 1.
 */
export function failure(err: unknown): { line: string; code: number; expected: boolean } {
  if (err instanceof ConfigError || err instanceof UsageError)
    return { line: oneLine(err), code: EXIT.usage, expected: true };
  const missing = credentialsProblem(err);
  if (missing) return { line: missing, code: EXIT.usage, expected: true };
  if (isServiceError(err)) {
    const status = httpStatusOf(err);
    const refused = status === 401 || status === 403;
    return {
      line: `${describeAwsError(err)}${refused ? ': the credentials in use may not do this' : ''}`,
      code: refused ? EXIT.usage : EXIT.failed,
      expected: refused,
    };
  }
  return { line: oneLine(err), code: EXIT.failed, expected: false };
}

export function runCli(command: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const { line, code, expected } = failure(err);
      process.stderr.write(`${command}: ${line}\n`);
      if (!expected && process.env.BUCKETMOVE_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
      process.exitCode = code;
    },
  );
}

/** Throws a UsageError unless `v` (a flag's value, when given) is a whole number in [min, max]. */
export function checkWhole(name: string, v: number | undefined, min: number, max = Infinity): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) {
    throw new UsageError(
      `--${name} must be a whole number from ${min}${max < Infinity ? ` to ${max}` : ''} (got ${v})`,
    );
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

/**
 * A yargs failure message in one line, each unknown argument named once: yargs spreads some messages over lines
 * ("Invalid values:\n  Argument: ..."), and names an unknown --bogus-flag twice (bogus-flag, bogusFlag).
 */
export function yargsMessage(msg: string): string {
  const line = msg.replace(/\s*\n\s*/g, ' ').trim();
  const m = /^Unknown arguments?: (.*)$/.exec(line);
  if (!m) return line;
  const names = m[1].split(', ');
  const kebab = (n: string) => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const kept = names.filter((n) => !(/[A-Z]/.test(n) && names.includes(kebab(n))));
  return `Unknown argument${kept.length > 1 ? 's' : ''}: ${kept.join(', ')}`;
}

/**
 * How every command parses: unknown flags refused, --help ending with the command's exit codes (`exits`: what the
 * table's codes mean for it, exit-codes.ts), no --version, and every problem a one-line UsageError.
 */
export function parseStrict<T>(y: Argv<T>, exits: Partial<Record<ExitCode, string | true>>): T {
  return y
    .epilog(exitCodesHelp(exits))
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err instanceof UsageError
        ? err
        : new UsageError(`${yargsMessage(String(msg ?? err?.message))}; see --help`);
    })
    .parseSync() as T;
}
