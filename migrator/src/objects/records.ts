/**
 * The records the engine, the audit, the Batch function and the store share about one object: what a listing (or a
 * manifest) says of it, the row a migration keeps for it, and what one attempt at copying it found. Plain types, no
 * storage: the checkpoint (migrate/checkpoint.ts) keeps them in SQLite.
 */
import type { ObjectState } from './object-states';

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified?: string;
}

export interface ObjectRow extends ListedObject {
  readonly state: ObjectState;
  readonly attempts: number;
  readonly versionId: string | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly httpStatus: number | null;
  readonly plaintextSha256: string | null;
  readonly plaintextSize: number | null;
  readonly newVersionId: string | null;
  /** False while a copy this tool wrote waits for its delete recheck. */
  readonly rechecked: boolean;
  readonly updatedAt: string | null;
}

/** What a finished attempt records. */
export interface Outcome {
  readonly state: ObjectState;
  readonly versionId?: string | null;
  /** The source ETag actually read (it may differ from the listing's when the legacy object changed since). */
  readonly etag?: string;
  /** The stored size actually read (a manifest row may not have told it: UNKNOWN_SIZE until then). */
  readonly size?: number;
  readonly errorCode?: string | null;
  readonly errorMessage?: string | null;
  readonly httpStatus?: number | null;
  readonly plaintextSha256?: string | null;
  readonly plaintextSize?: number | null;
  readonly newVersionId?: string | null;
}
