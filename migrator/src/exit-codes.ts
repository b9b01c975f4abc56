/**
 * The exit codes of every command (README, "Exit codes"; the launcher's --help says the same): one table, and each
 * command's own meanings of it, which its --help ends with (exitCodesHelp). A module of its own, without imports, so
 * that the engines (migrate/migrate-workspace.ts) use the same numbers as the commands that run them.
 */
export const EXIT = {
  ok: 0,
  /** Finished with findings: objects failed or were quarantined, the audit found problems, the gate refused. */
  failed: 1,
  /** Bad input: flags, workspace, credentials, endpoints. Nothing was written. */
  usage: 2,
  /** Stopped before the end (--limit reached, a job not waited for): more to do, by running it again. */
  incomplete: 3,
  /** Interrupted (Ctrl-C, SIGTERM) and stopped cleanly; the 128 + SIGINT a shell shows for Ctrl-C. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What the table's codes mean where a command says nothing more precise. */
const GENERAL: Record<ExitCode, string> = {
  0: 'done',
  1: 'finished with findings or failures',
  2: 'bad input, configuration or credentials (nothing written)',
  3: 'more to do (run it again)',
  130: 'interrupted',
};

/**
 * The "Exit codes:" paragraph of a command's --help: 0 and 2 always (every command finishes and refuses bad input),
 * the other codes of the table that the command uses, each with its meaning for that command (`true`: the general one).
 */
export function exitCodesHelp(meanings: Partial<Record<ExitCode, string | true>>): string {
  const all: Partial<Record<ExitCode, string | true>> = { 0: true, 2: true, ...meanings };
  const codes = (Object.keys(all).map(Number) as ExitCode[]).sort((a, b) => a - b);
  return `Exit codes: ${codes.map((c) => `${c} ${all[c] === true ? GENERAL[c] : all[c]}`).join('; ')}.`;
}
