/**
 * Where one side of a workspace is served: AWS (the SDK's own endpoint for the region), an S3-compatible URL, or the
 * local rig (`endpoint: "rig"`, resolved through the rig's state file).
 */
import type { LoadedWorkspace } from '../../../workspaces/load';
import { readRigState, rigStatePath, type RigState } from './rig-state';

export type Side = 'legacy' | 'primary';
export const SIDES: readonly Side[] = ['legacy', 'primary'];

export interface ResolvedEndpoint {
  /** The URL to send requests to; undefined means AWS's own endpoint for `region`. */
  readonly url?: string;
  /** An S3-compatible server rather than AWS: path-style addressing, checksums only when an operation requires them. */
  readonly s3Compatible: boolean;
  readonly region: string;
  /** The account (on RGW: the tenant) that owns the side's bucket. */
  readonly accountId: string;
  /** The rig's state, when the side's endpoint is "rig". */
  readonly rig?: RigState;
}

export interface EndpointOptions {
  /** The rig state file to read for `endpoint: "rig"` (default: BUCKETMOVE_RIG_STATE, else .rig/state.json). */
  readonly rigStatePath?: string;
  /** Reuse a state already read (the factory reads it once for both sides). */
  readonly rigState?: RigState;
}

/** The region a side's bucket lives in: the legacy side may differ from the workspace region. */
export function sideRegion(ws: LoadedWorkspace, side: Side): string {
  return side === 'legacy' ? (ws.legacy.region ?? ws.region) : ws.region;
}

/** Resolves a side's endpoint. An unreadable rig state is a ConfigError with one line saying how to start the rig. */
export function resolveEndpoint(ws: LoadedWorkspace, side: Side, options: EndpointOptions = {}): ResolvedEndpoint {
  const configured = ws[side].endpoint;
  const base = {
    s3Compatible: ws.target === 's3-compatible',
    region: sideRegion(ws, side),
    accountId: ws[side].accountId,
  };
  if (configured === 'rig') {
    const rig = options.rigState ?? readRigState(options.rigStatePath ?? rigStatePath());
    return { ...base, url: rig.endpoint, rig };
  }
  return { ...base, url: configured };
}
