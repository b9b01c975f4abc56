/**
 * The photo store the app imports: one interface over the new bucket and the legacy one, in one of four modes, the
 * steps of a rolling release (modes.ts holds the rules; docs/photo-store.md the table of which modes may run side by
 * side):
 *
 * - legacy-only (before the migration): everything on the legacy bucket, through the codec, as the legacy app did.
 * - read-both-write-legacy (the first release): reads as dual-read; writes and deletes go to legacy, as legacy-only
 *   instances still running expect, and to the new bucket too where it holds the key (a write replaces the copy
 *   there; a delete leaves a tombstone over a photo there), so that no reader finds an older copy in new first.
 * - dual-read (during): reads try the new bucket and fall back to legacy (decrypting) ONLY on 404 NoSuchKey; a 403,
 *   a 5xx, a timeout or a missing bucket on the new side is an error, never a reason to serve legacy data. Writes go to
 *   the new bucket only. Deletes remove legacy first, then leave a tombstone in the new bucket, which refuses any
 *   copy still in flight (If-None-Match), so a deleted photo never comes back. Every fallback hit is counted and logged
 *   as one JSON line (fallback-events.ts). Optionally, what a read fell back to is copied into the new bucket.
 * - new-only (after): the new bucket alone; the legacy client, the fallback and the codec are not even loaded. Deletes
 *   leave a tombstone while PHOTO_STORE_TOMBSTONES is true (the default), so a dual-read instance still running never
 *   falls back to the legacy copy of a photo deleted here.
 *
 * Where a mode uses both buckets, a write or delete goes to legacy first, then new: if the second step fails, the
 * operation fails and retrying it finishes it.
 *
 * In every mode the store beats (heartbeat.ts): a JSON line every interval on the same logger, with its counters, and
 * a last one on close(); from them the audit tells a log that covers its window from one that does not.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { createS3Client } from '../aws/clients';
import type { Transport } from '../aws/http';
import { createLogger } from '../log';
import { sseParams, type Target } from '../objects/write-new';
import { HEARTBEAT_DEFAULT_MS, storeConfigFromEnv, type SideSettings, type StoreConfig } from './config';
import { StoreCounters, type StoreCounts } from './counters';
import { checkKey, StoreError, storeErrorOf, type StoreSide } from './errors';
import { fallbackHitFields, type FallbackOp } from './fallback-events';
import { StoreHeartbeat } from './heartbeat';
import type { CopyOutcome } from './copy-on-miss';
import type { DecodedLegacy, LegacySide } from './legacy-side';
import { modeRules, usesLegacy, usesNew, type ModeRules, type StoreMode } from './modes';
import { listMerged, s3Pages, type ListOptions, type ListPage, type ListSource } from './list';
import { NewMultipart, type UploadedPart } from './multipart';
import { DELETED, NewSide } from './new-side';
import type { Photo, PhotoInfo, PutOptions, PutResult } from './photo';
import { MIB } from '../../../workspaces/units';

export interface StoreOptions {
  /** Where the fallback-hit and heartbeat lines (and copy-on-miss problems) go; default: JSON lines on stderr. */
  readonly logger?: Logger;
  /** Where codec keys named by `{"env": ...}` are read (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Fallback objects up to this stored size are decrypted whole before they are served (default 32 MiB). */
  readonly fallbackBufferBytes?: number;
  /** Copy-on-miss copies running at once; more misses meanwhile are left to the migrator (default 4). */
  readonly maxCopiesInFlight?: number;
  /** Overrides of the SDK transport (timeouts, attempts). */
  readonly transport?: Partial<Transport>;
}

/** Copies an authenticated fallback read into the new bucket (copy-on-miss.ts); throws what S3 throws. */
type CopyFn = (key: string, decoded: DecodedLegacy) => Promise<CopyOutcome>;

export interface PhotoStoreOptions {
  /** new-only: deletes leave a tombstone (modes.ts); default true. */
  readonly tombstones?: boolean;
  /** The heartbeat's interval (heartbeat.ts); without it the store does not beat. */
  readonly heartbeatMs?: number;
}

export class PhotoStore {
  readonly counters = new StoreCounters();
  readonly rules: ModeRules;
  private readonly copies = new Set<Promise<void>>();
  /** Undefined when built without an interval (a store that does not beat). */
  readonly heartbeat?: StoreHeartbeat;

  constructor(
    readonly mode: StoreMode,
    private readonly newSide: NewSide | undefined,
    private readonly legacySide: LegacySide | undefined,
    private readonly log: Logger,
    private readonly copy: CopyFn | undefined,
    private readonly maxCopiesInFlight: number,
    options: PhotoStoreOptions = {},
  ) {
    this.rules = modeRules(mode, { tombstones: options.tombstones ?? true });
    if (usesNew(mode) !== Boolean(newSide) || usesLegacy(mode) !== Boolean(legacySide))
      throw new Error(`PhotoStore: give mode ${mode} exactly the sides it uses`);
    if (options.heartbeatMs !== undefined) {
      this.heartbeat = new StoreHeartbeat({ log, counters: this.counters, mode, intervalMs: options.heartbeatMs });
      this.heartbeat.start();
    }
  }

  /** The photo, or undefined when it is nowhere (404 on every bucket the mode reads). */
  async get(key: string): Promise<Photo | undefined> {
    checkKey(key);
    if (this.newSide) {
      const found = await this.on('new', 'GetObject', () => this.newSide!.get(key));
      if (found === DELETED) return this.nothing(); // a tombstone: deleted, never a reason to fall back
      if (found) {
        this.counters.read('new');
        return found;
      }
    }
    if (!this.legacySide) return this.nothing();
    const obj = await this.on('legacy', 'GetObject', () => this.legacySide!.open(key));
    if (!obj) return this.nothing();
    this.fellBack(key, 'get');
    const decoded = await this.on('legacy', 'decrypt', () => this.legacySide!.decode(key, obj));
    this.counters.read('legacy');
    if (this.copy) this.startCopy(key, decoded);
    return decoded.photo;
  }

  /** What a GET would return, without the bytes; undefined when the photo is nowhere. */
  async head(key: string): Promise<PhotoInfo | undefined> {
    checkKey(key);
    if (this.newSide) {
      const found = await this.on('new', 'HeadObject', () => this.newSide!.head(key));
      if (found === DELETED) return this.nothing();
      if (found) {
        this.counters.read('new');
        return found;
      }
    }
    if (!this.legacySide) return this.nothing();
    const found = await this.on('legacy', 'HeadObject', () => this.legacySide!.head(key));
    if (!found) return this.nothing();
    this.fellBack(key, 'head');
    this.counters.read('legacy');
    return found;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  /**
   * Writes the photo: to the new bucket with the configured SSE (dual-read, new-only); to legacy, encrypted
   * (legacy-only); or to legacy and then, where the new bucket holds the key, to new as well (read-both-write-legacy).
   * The result describes the copy readers now find first.
   */
  async put(key: string, body: Buffer, opts: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    if (!Buffer.isBuffer(body)) throw new TypeError('put: the body must be a Buffer');
    const toNew = () => this.on('new', 'PutObject', () => this.newSide!.put(key, body, opts));
    let out: PutResult;
    if (this.rules.write === 'new') out = await toNew();
    else {
      out = await this.on('legacy', 'PutObject', () => this.legacySide!.put(key, body, opts));
      // Readers look in new first: a copy there (a dual-read instance's write, or its tombstone) would hide this write.
      if (this.rules.write === 'legacy+new-where-present' && (await this.inNew(key)) !== undefined) out = await toNew();
    }
    this.counters.write();
    return out;
  }

  /**
   * Deletes the photo from every bucket the mode uses: legacy FIRST, then new. The new side gets a tombstone
   * (objects/provenance.ts) instead of a plain delete: a copy of the photo still in flight (the migrator's, or
   * copy-on-miss) is then refused by its If-None-Match and can never bring the photo back, not even for a moment, and
   * a dual-read instance reads it as "deleted", never as a reason to fall back. read-both-write-legacy buries only a
   * photo the new bucket holds; new-only deletes plainly when tombstones are turned off.
   * If the legacy delete fails, nothing is deleted; if the new one fails, retrying the delete finishes it.
   */
  async delete(key: string): Promise<void> {
    checkKey(key);
    const rule = this.rules.delete;
    if (rule.startsWith('legacy')) await this.on('legacy', 'DeleteObject', () => this.legacySide!.delete(key));
    const bury = () => this.on('new', 'PutObject', () => this.newSide!.bury(key));
    if (rule === 'legacy+tombstone' || rule === 'tombstone') await bury();
    else if (rule === 'legacy+tombstone-where-present') {
      const found = await this.inNew(key);
      if (found !== undefined && found !== DELETED) await bury();
    } else if (rule === 'plain') await this.on('new', 'DeleteObject', () => this.newSide!.delete(key));
    this.counters.delete();
  }

  /**
   * One page of the photos as readers see them (list.ts): the buckets the mode reads merged in S3's key order, a key
   * in both listed once (from new), tombstones and what they bury hidden.
   */
  async list(o: ListOptions): Promise<ListPage> {
    const sources: ListSource[] = [];
    if (this.newSide) {
      const n = this.newSide;
      const page = s3Pages(n.client, n.bucket, o);
      sources.push({
        side: 'new',
        page: (after, max) => this.on('new', 'ListObjectsV2', () => page(after, max)),
        buried: async (key) => (await this.inNew(key)) === DELETED,
      });
    }
    if (this.legacySide) {
      const l = this.legacySide;
      const page = s3Pages(l.client, l.bucket, o);
      sources.push({
        side: 'legacy',
        page: (after, max) => this.on('legacy', 'ListObjectsV2', () => page(after, max)),
        plainSize: (n) => l.codec.plaintextSize(n),
      });
    }
    // Only the new bucket holds tombstones: with it, a common prefix is listed only if a key under it is (list.ts).
    const visible = this.newSide
      ? async (prefix: string) => (await this.list({ prefix, maxKeys: 1 })).objects.length > 0
      : undefined;
    return listMerged(sources, o, o.delimiter ? visible : undefined);
  }

  /**
   * Multipart upload for large photos (multipart.ts), passed through to the new bucket: only where the mode writes
   * the new bucket alone (rules.write === 'new'); elsewhere a StoreError "failed" with code NotImplemented.
   */
  async createMultipart(key: string, opts: PutOptions = {}): Promise<string> {
    checkKey(key);
    const mp = this.multipart('CreateMultipartUpload');
    return this.on('new', 'CreateMultipartUpload', () => mp.create(key, opts));
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string | undefined> {
    checkKey(key);
    const mp = this.multipart('UploadPart');
    return this.on('new', 'UploadPart', () => mp.uploadPart(key, uploadId, partNumber, body));
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly UploadedPart[],
  ): Promise<{ etag?: string; versionId?: string }> {
    checkKey(key);
    const mp = this.multipart('CompleteMultipartUpload');
    const out = await this.on('new', 'CompleteMultipartUpload', () => mp.complete(key, uploadId, parts));
    this.counters.write();
    return out;
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    checkKey(key);
    const mp = this.multipart('AbortMultipartUpload');
    await this.on('new', 'AbortMultipartUpload', () => mp.abort(key, uploadId));
  }

  private multipart(op: string): NewMultipart {
    if (this.rules.write !== 'new' || !this.newSide) {
      throw new StoreError(
        'failed',
        undefined,
        `${op}: multipart upload needs a mode that writes the new bucket alone (dual-read or new-only; the mode is ${this.mode})`,
        'NotImplemented',
        501,
      );
    }
    return new NewMultipart(this.newSide.client, this.newSide.bucket, this.newSide.sse);
  }

  /** Checks that every bucket the mode uses answers (HeadBucket); a one-line StoreError otherwise. */
  async preflight(): Promise<void> {
    if (this.newSide) await this.on('new', 'HeadBucket', () => this.newSide!.checkBucket());
    if (this.legacySide) await this.on('legacy', 'HeadBucket', () => this.legacySide!.checkBucket());
  }

  counts(): StoreCounts {
    return this.counters.snapshot();
  }

  /** Waits for the copy-on-miss copies in flight (tests, and a graceful shutdown). */
  async drain(): Promise<void> {
    while (this.copies.size) await Promise.all([...this.copies]);
  }

  /** Drains, writes the last heartbeat, then closes the clients' sockets. */
  async close(): Promise<void> {
    await this.drain();
    this.heartbeat?.stop();
    this.newSide?.client.destroy();
    this.legacySide?.client.destroy();
  }

  /** What the new bucket holds under the key: a photo's description, DELETED (a tombstone), or undefined. */
  private inNew(key: string) {
    return this.on('new', 'HeadObject', () => this.newSide!.head(key));
  }

  private nothing(): undefined {
    if (this.rules.read === 'new-then-legacy') this.counters.fallbackMiss();
    this.counters.notFound();
    return undefined;
  }

  private fellBack(key: string, op: FallbackOp): void {
    if (this.rules.read !== 'new-then-legacy') return; // legacy-only reads are not fallbacks
    this.counters.fallbackHit();
    this.log.info(fallbackHitFields(key, op, this.mode), 'served from the legacy bucket');
  }

  private startCopy(key: string, decoded: DecodedLegacy): void {
    if (!decoded.plaintext) return this.counters.copy('skipped'); // streamed (too big to hold): the migrator copies it
    if (this.copies.size >= this.maxCopiesInFlight) return this.counters.copy('skipped');
    const job: Promise<void> = this.copy!(key, decoded)
      .then(
        (outcome) => this.counters.copy(outcome),
        (err: unknown) => {
          // The read was served already; the photo stays in legacy for the migrator (or the next miss) to copy.
          this.counters.copy('failed');
          const e = storeErrorOf(err, 'new', 'copy-on-miss');
          this.log.warn(
            { event: 'store.copy_failed', key, kind: e.kind, code: e.code, status: e.httpStatus },
            e.message,
          );
        },
      )
      .finally(() => this.copies.delete(job));
    this.copies.add(job);
  }

  private async on<T>(side: StoreSide, op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.counters.error(side);
      throw storeErrorOf(err, side, op);
    }
  }
}

function clientFor(s: SideSettings, config: StoreConfig, transport: Partial<Transport> | undefined): S3Client {
  return createS3Client({
    endpoint: s.endpoint,
    region: s.region,
    s3Compatible: s.endpoint !== undefined,
    credentials: s.credentials,
    transport: {
      retryMode: 'standard',
      maxAttempts: config.maxAttempts,
      connectionTimeoutMs: Math.min(config.timeoutMs, 5_000),
      requestTimeoutMs: config.timeoutMs,
      idleTimeoutMs: Math.max(config.timeoutMs, 10_000),
      ...transport,
    },
  });
}

/**
 * Builds the store for a configuration (see config.ts). The legacy side, the codec and copy-on-miss are loaded only
 * when the mode uses the legacy bucket.
 */
export async function createStore(config: StoreConfig, opts: StoreOptions = {}): Promise<PhotoStore> {
  const log = opts.logger ?? createLogger({ name: 'photo-store' });
  const newSide = config.primary
    ? new NewSide(
        clientFor(config.primary, config, opts.transport),
        config.primary.bucket,
        sseParams(config.encryption),
      )
    : undefined;
  let legacySide: LegacySide | undefined;
  let copy: CopyFn | undefined;
  if (config.legacy) {
    const { LegacySide } = await import('./legacy-side');
    const codec = await LegacySide.loadCodec(config.legacy.codec, opts.env ?? process.env, config.legacy.region);
    legacySide = new LegacySide(
      clientFor(config.legacy, config, opts.transport),
      config.legacy.bucket,
      codec,
      opts.fallbackBufferBytes ?? 32 * MIB,
    );
    if (config.copyOnMiss && newSide) {
      const { copyToNew } = await import('./copy-on-miss');
      const legacy = legacySide;
      const target: Target = {
        client: newSide.client,
        bucket: newSide.bucket,
        sse: newSide.sse,
        partSize: 5 * MIB,
        queueSize: 1,
      };
      copy = (key, decoded) =>
        copyToNew(
          { target, legacyEtag: async (k) => (await legacy.head(k))?.etag },
          key,
          decoded.object,
          decoded.plaintext!,
        );
    }
  }
  return new PhotoStore(config.mode, newSide, legacySide, log, copy, opts.maxCopiesInFlight ?? 4, {
    tombstones: config.tombstones,
    heartbeatMs: config.heartbeatMs ?? HEARTBEAT_DEFAULT_MS,
  });
}

/** The store as an app builds it: settings from the environment (config.ts lists the variables). */
export async function createStoreFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  opts: Omit<StoreOptions, 'env'> = {},
): Promise<PhotoStore> {
  return createStore(storeConfigFromEnv(env), { ...opts, env });
}
