/** The states of a legacy object in a migration, and their groups (checkpoint.ts records them). */

/** Where an object stands. */
export type ObjectState =
  /** Listed, not yet done (also after a temporary failure left it for a later run). */
  | 'pending'
  /** Decrypted and written to the new bucket by this tool. */
  | 'copied'
  /** The new bucket already holds this tool's copy of this source version (an earlier run wrote it). */
  | 'already-migrated'
  /** The new bucket holds the app's own write of the key: it is newer, and it is kept. */
  | 'kept-app-version'
  /** Gone from the legacy bucket before it was read (deleted by the app). */
  | 'vanished'
  /** Deleted by the app while this tool copied it: the copy was removed again. */
  | 'deleted-during-copy'
  /** A permanent failure (wrong key, tampered, not the format, truncated, access denied): needs a person. */
  | 'quarantined'
  /** Temporary failures exhausted this run's attempts; the next run tries again. */
  | 'failed';

export const DONE_STATES: readonly ObjectState[] = [
  'copied',
  'already-migrated',
  'kept-app-version',
  'vanished',
  'deleted-during-copy',
];
/** States in which the new bucket holds this tool's copy: it must survive the delete recheck. */
export const NEEDS_RECHECK: readonly ObjectState[] = ['copied', 'already-migrated'];
export const ALL_STATES: readonly ObjectState[] = ['pending', ...DONE_STATES, 'quarantined', 'failed'];

/** A count per state, every state at 0, in ALL_STATES's order (a run's and a Batch job's tallies). */
export function zeroCounts(): Record<ObjectState, number> {
  return Object.fromEntries(ALL_STATES.map((s) => [s, 0])) as Record<ObjectState, number>;
}
