/**
 * The store's modes, in the order a release goes through them, and the rules each follows:
 *
 *   legacy-only -> read-both-write-legacy -> dual-read -> (backfill, audit) -> new-only -> (teardown)
 *
 * Each step is a config change (PHOTO_STORE_MODE, then a restart) that a rolling deploy makes one instance at a time,
 * so for minutes two ADJACENT modes serve side by side. The rules are chosen so that every adjacent pair is safe for
 * reads, writes, overwrites and deletes: a read that starts after a write (or delete) was acknowledged, by whichever
 * instance, sees that write (or "no such photo"). In short (docs/photo-store.md, "Rolling from one mode to the next",
 * has the whole table):
 *
 * | pair                                  | why no instance serves a missing, stale or deleted photo                  |
 * |---------------------------------------|---------------------------------------------------------------------------|
 * | legacy-only + read-both-write-legacy  | both write and delete legacy only (the new bucket holds none of the keys  |
 * |                                       | yet), so legacy is the one truth both read                                |
 * | read-both-write-legacy + dual-read    | both read new first, then legacy; a write to legacy also goes to new      |
 * |                                       | where new holds the key (else the older copy there would hide it); a      |
 * |                                       | delete also tombstones new where new holds a photo                        |
 * | dual-read + new-only                  | after the backfill and the audit, new holds every photo; new-only deletes |
 * |                                       | leave a tombstone (PHOTO_STORE_TOMBSTONES, default true), so a dual-read  |
 * |                                       | instance never falls back to the legacy copy that is still there          |
 *
 * Preconditions the runbook's order provides (the store cannot see the fleet): the migrator (and copy-on-miss) runs
 * only once every instance is dual-read (read-both-write-legacy writes legacy, and a copy of an older version could
 * land under it; the audit reports legacy objects written after the migration started); new-only starts only after
 * the audit passed; tombstones stay on until the legacy bucket is gone.
 *
 * An S3-API gateway on this store switches the same way: the rules live here, not in the service.
 */

/** In the order a release goes through them. */
export const STORE_MODES = ['legacy-only', 'read-both-write-legacy', 'dual-read', 'new-only'] as const;
export type StoreMode = (typeof STORE_MODES)[number];

export interface ModeRules {
  /**
   * `legacy`: the legacy bucket alone. `new-then-legacy`: the new bucket, then legacy on 404 NoSuchKey only (a
   * tombstone in new means deleted: never a reason to fall back). `new`: the new bucket alone.
   */
  readonly read: 'legacy' | 'new-then-legacy' | 'new';
  /**
   * `legacy+new-where-present`: legacy, then the new bucket as well where it holds the key (a photo or a tombstone),
   * since readers look there first.
   */
  readonly write: 'legacy' | 'legacy+new-where-present' | 'new';
  /**
   * Always legacy first, then new: `tombstone-where-present` buries the key in new only where new holds a photo of it
   * (a tombstone elsewhere would hide a photo a legacy-only instance writes again); `tombstone` always buries it;
   * `plain` deletes it (new-only once no legacy bucket is left to fall back to).
   */
  readonly delete: 'legacy' | 'legacy+tombstone-where-present' | 'legacy+tombstone' | 'tombstone' | 'plain';
}

export interface RuleSettings {
  /** new-only: deletes leave a tombstone (true, the default) or delete plainly. The other modes ignore it. */
  readonly tombstones: boolean;
}

/** The rules of a mode. */
export function modeRules(mode: StoreMode, s: RuleSettings = { tombstones: true }): ModeRules {
  switch (mode) {
    case 'legacy-only':
      return { read: 'legacy', write: 'legacy', delete: 'legacy' };
    case 'read-both-write-legacy':
      return { read: 'new-then-legacy', write: 'legacy+new-where-present', delete: 'legacy+tombstone-where-present' };
    case 'dual-read':
      return { read: 'new-then-legacy', write: 'new', delete: 'legacy+tombstone' };
    case 'new-only':
      return { read: 'new', write: 'new', delete: s.tombstones ? 'tombstone' : 'plain' };
  }
}

/** Which buckets a mode uses. */
export const usesNew = (mode: StoreMode): boolean => modeRules(mode).read !== 'legacy';
export const usesLegacy = (mode: StoreMode): boolean => modeRules(mode).read !== 'new';
