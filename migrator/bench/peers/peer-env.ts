/**
 * The PEER_* environment the migrator bench gives its peer scripts (migrate.ts peerEnv): a variable, or a clear error.
 */
export function need(name: string): string {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
}
