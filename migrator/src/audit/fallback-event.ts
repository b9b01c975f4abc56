/**
 * The store's fallback-hit event, as the audit counts it: one JSON log line per read the store served from the
 * legacy bucket, `{"event": "store.fallback_hit", "key": "...", "time": "<ISO 8601>", ...}`; and its heartbeat, from
 * which the audit measures how much of its window the log covers. The names are the store's own constants
 * (migrator/src/store/fallback-events.ts), so the two never drift apart.
 */
export { FALLBACK_HIT_EVENT, HEARTBEAT_EVENT } from '../store/fallback-events';
/** The fields of the event the audit's Logs Insights queries read. */
export const FALLBACK_HIT_FIELDS = { event: 'event', key: 'key', time: 'time' } as const;
