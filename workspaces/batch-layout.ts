/**
 * What the Batch Operations stack and the batch command must agree on: the variable the function reads its workspace
 * from, and where in the new bucket the jobs' manifests and completion reports go.
 */
import type { Workspace } from './schema';

/** The environment variable the function reads the workspace (its JSON) from. */
export const WORKSPACE_ENV_VAR = 'BUCKETMOVE_WORKSPACE';

/**
 * Where the jobs' manifests and reports go in the new bucket: `<reportsPrefix>manifests/` and
 * `<reportsPrefix>reports/`.
 */
export function batchPrefixes(ws: Workspace): { root: string; manifests: string; reports: string } {
  const root = ws.batchOperations.reportsPrefix;
  return { root, manifests: `${root}manifests/`, reports: `${root}reports/` };
}
