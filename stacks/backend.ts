/**
 * Where a stack keeps its Terraform state.
 *
 * - "cloud" (the default): Terraform Cloud, organization and workspace from the workspace file's `terraformCloud`
 *   (one Terraform Cloud workspace per stack: `terraformCloud.workspaces.primary` and `.legacy`).
 * - "local": a local state file `terraform.<stack>.tfstate` in the folder `cdktf` runs from (for trying a stack out,
 *   or for an operator who keeps state elsewhere).
 *
 * Chosen with the environment variable BUCKETMOVE_BACKEND or the cdktf context key `backend` (cdktf.json "context").
 */
import { CloudBackend, LocalBackend, NamedCloudWorkspace, type TerraformStack } from 'cdktf';
import { type Workspace } from '../workspaces/load';
import { ConfigError } from '../workspaces/errors';

export const BACKEND_KINDS = ['cloud', 'local'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export function parseBackendKind(value: string, source: string): BackendKind {
  if ((BACKEND_KINDS as readonly string[]).includes(value)) return value as BackendKind;
  throw new ConfigError(`${source}: must be "cloud" (Terraform Cloud, the default) or "local" (got "${value}")`);
}

/** Configures the state backend of one stack: `side` picks the Terraform Cloud workspace name. */
export function configureBackend(
  stack: TerraformStack,
  ws: Workspace,
  side: 'primary' | 'legacy',
  kind: BackendKind,
): void {
  if (kind === 'local') {
    new LocalBackend(stack, {});
    return;
  }
  if (!ws.terraformCloud) {
    // The schema requires terraformCloud for target "aws"; this guards callers that build workspaces by hand.
    throw new ConfigError(`workspace "${ws.env}": terraformCloud: is missing (or set BUCKETMOVE_BACKEND=local)`);
  }
  new CloudBackend(stack, {
    organization: ws.terraformCloud.organization,
    workspaces: new NamedCloudWorkspace(ws.terraformCloud.workspaces[side]),
  });
}

/**
 * What keeps the cdktf CLI and Terraform quiet offline (no red `[ERROR] ... getaddrinfo ENOTFOUND
 * checkpoint-api.hashicorp.com` on every command): CHECKPOINT_DISABLE turns off Terraform's checkpoint calls and the
 * cdktf CLI's telemetry (@cdktf/commons checkpoint.js ReportRequest), DISABLE_VERSION_CHECK the CLI's version check and
 * its `npm view cdktf-cli version` update check (cdktf-cli bundle, handlers.js). The CLI reads them when it starts, so
 * whatever starts it sets them: `npm run cdktf` (scripts/cdktf.ts) and the teardown gate's runner; the app the CLI runs
 * (main.ts) starts too late to matter.
 */
export const QUIET_CLI_ENV: Readonly<Record<string, string>> = {
  CHECKPOINT_DISABLE: '1',
  DISABLE_VERSION_CHECK: 'true',
};

/**
 * The line a failed cdktf or Terraform command gets when the stacks keep their state in Terraform Cloud: Terraform's
 * own message says nothing of the local backend, so this names it.
 */
export function cloudBackendHint(command: string): string {
  return `the stacks keep their state in Terraform Cloud: if that is what failed (not logged in: run \`terraform login\`; no network; an organization or workspace that does not exist), and the stack's state is not in Terraform Cloud (never deployed, or deployed with local state), BUCKETMOVE_BACKEND=local keeps it in a local file instead (terraform.<stack>.tfstate; it moves no state): BUCKETMOVE_BACKEND=local ${command}`;
}
