/**
 * The read-fallback photo store (expand phase): see modes.ts for the modes, their rules and which may run side by
 * side, store.ts for how each operation follows them, config.ts for the environment variables, fallback-events.ts
 * for the fallback-hit and heartbeat log lines and how to read them.
 *
 * Nothing here imports the legacy codec: it is loaded by createStore, and only in the modes that read legacy.
 */
export { createStore, createStoreFromEnv, PhotoStore, type StoreOptions } from './store';
export { storeConfigFromEnv, STORE_ENV, STORE_MODES, type StoreConfig, type StoreMode } from './config';
export { modeRules, type ModeRules } from './modes';
export { StoreError, type StoreErrorKind, type StoreSide } from './errors';
export type { StoreCounts } from './counters';
export type { Photo, PhotoInfo, PutOptions, PutResult } from './photo';
export { compareKeys, nextStartAfter, type ListOptions, type ListPage, type ListedObject } from './list';
export type { UploadedPart } from './multipart';
export {
  FALLBACK_HIT_EVENT,
  FALLBACK_HITS_QUERY,
  HEARTBEAT_EVENT,
  countFallbackHits,
  countFallbackHitsInFile,
  parseFallbackHit,
  parseHeartbeat,
  type FallbackHit,
  type FallbackHitCount,
  type Heartbeat,
} from './fallback-events';
