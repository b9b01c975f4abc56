/**
 * The errors every layer may raise for bad input (the stacks, the workspaces, the engine, the commands): one module
 * that imports nothing, so that raising one never pulls in the layer that renders it. The commands (cli/run-cli.ts)
 * print the message alone, without a stack, and exit 2 (cli/exit-codes.ts).
 */

/** A mistake in the user's input (a workspace file, a variable, a key, an endpoint). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A bad flag or argument. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
