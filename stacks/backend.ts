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
import { ConfigError, type Workspace } from '../workspaces/load';

export const BACKEND_KINDS = ['cloud', 'local'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export function parseBackendKind(value: string, source: string): BackendKind {
  if ((BACKEND_KINDS as readonly string[]).includes(value)) return value as BackendKind;
  throw new ConfigError(`${source}: must be "cloud" (Terraform Cloud, the default) or "local" (got "${value}")`);
}

/** Configures the state backend of one stack: `side` picks the Terraform Cloud workspace name. */
export function configureBackend(stack: TerraformStack, ws: Workspace, side: 'primary' | 'legacy', kind: BackendKind): void {
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
