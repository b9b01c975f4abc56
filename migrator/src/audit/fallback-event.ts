/**
 * The store's fallback-hit event, as the audit counts it: one JSON log line per read the store served from the
 * legacy bucket, `{"event": "store.fallback_hit", "key": "...", "time": "<ISO 8601>", ...}`.
 *
 * The one place the audit names it. The store (issue 5) defines the event in migrator/src/store/fallback-events.ts;
 * once that module is on main, this constant re-exports theirs so the two can never drift apart.
 */
export const FALLBACK_HIT_EVENT = 'store.fallback_hit';
/** The fields of the event the audit reads. */
export const FALLBACK_HIT_FIELDS = { event: 'event', key: 'key', time: 'time' } as const;
