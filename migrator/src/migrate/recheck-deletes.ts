/**
 * The last step of an object's way: making sure the app did not delete the photo while it was being copied.
 *
 * The app's store deletes a photo in the legacy bucket first, then in the new one. A copy whose GET came before the
 * delete can land in the new bucket after it, which would bring the photo back. So after a copy is written, its legacy
 * key is looked at again: still there means any delete still to come will reach the new bucket after the copy (and
 * remove it); gone means the delete raced the copy, and the migrator removes its own copy.
 *
 * Looking again costs one ListObjectsV2 per batch of copies instead of one HEAD per copy: copies finish in about key
 * order, so a listing from the first key of a batch sees most of the batch on one page (listings are strongly
 * consistent on S3 and RGW, and every listing here starts after the writes it judges). A gap in the keys starts a new
 * listing at the next key to judge, so a scattered batch costs at most one listing per key. Copies written but not yet
 * rechecked are marked in the checkpoint, and a run after a crash rechecks them before it copies anything.
 */
import { listObjectsPage } from '../aws/list-objects';
import type { Checkpoint } from './checkpoint';
import type { Source } from './copy-object';
import { deleteIfStill, holdsOwnCopy, type Target } from '../objects/write-new';

/** S3 lists keys in the order of their UTF-8 bytes. */
export const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export interface Written {
  readonly key: string;
  /** The legacy ETag the copy was made from. */
  readonly sourceEtag: string;
  /** The version the copy created in the new bucket (undefined on an unversioned bucket). */
  readonly newVersionId?: string | null;
}

export interface RecheckDeps {
  readonly source: Source;
  readonly target: Target;
  readonly checkpoint: Checkpoint;
  readonly prefix: string;
  /** Called for each copy removed because the app deleted the photo during the copy. */
  readonly onUndone?: (w: Written) => void;
}

/**
 * How copies are gathered for a recheck: a listing when 500 are waiting, else 1 s after the first of a batch. Each
 * listing reads the batch's keys plus the copies still in flight between them (up to 32 more), so a short delay makes
 * many small listings: at 100 ms, a 2,000-object bench round made 97 listings that read 5,055 keys (2.5 per copy), each
 * a request the legacy server answers; at 1 s, 11 listings that read 2,320. The delay is how long a copy of a photo
 * deleted meanwhile by a client that left no tombstone can stay readable (the app's store leaves one, which the copy's
 * `If-None-Match: *` meets).
 */
export const RECHECK_BATCHING = { batch: 500, maxDelayMs: 1_000 } as const;

export class DeleteRecheck {
  private pending: Written[] = [];
  private running: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private failure?: unknown;

  constructor(
    private readonly deps: RecheckDeps,
    private readonly opts: { batch: number; maxDelayMs: number } = RECHECK_BATCHING,
  ) {}

  /** A copy was written: it is judged with the next batch. */
  add(w: Written): void {
    this.pending.push(w);
    if (this.pending.length >= this.opts.batch) this.flushSoon(0);
    else this.flushSoon(this.opts.maxDelayMs);
  }

  /** Judges every copy added so far; rejects if a listing or an undo failed (they stay marked for the next run). */
  async drain(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.running.then(() => this.judge());
    await this.running;
    if (this.failure) throw this.failure;
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running.then(() => this.judge());
    }, delayMs);
    this.timer.unref?.();
  }

  private async judge(): Promise<void> {
    const batch = this.pending.sort((a, b) => byteOrder(a.key, b.key));
    this.pending = [];
    if (batch.length === 0) return;
    try {
      const gone = await missingFromLegacy(
        this.deps.source,
        this.deps.prefix,
        batch.map((w) => w.key),
      );
      for (const w of batch) {
        if (gone.has(w.key)) {
          await undoCopy(this.deps.target, w);
          this.deps.checkpoint.record(w.key, { state: 'deleted-during-copy' });
          this.deps.onUndone?.(w);
        } else {
          this.deps.checkpoint.markRechecked(w.key);
        }
      }
    } catch (err) {
      this.failure ??= err;
    }
  }
}

/**
 * Which of `keys` (sorted in S3's order: UTF-8 bytes) the legacy bucket no longer lists. A listing starts just before
 * the next key to judge (its parent string sorts before it); when a page judges nothing (many other keys lie between),
 * the listing goes on with its continuation token instead, so every request makes progress.
 */
export async function missingFromLegacy(source: Source, prefix: string, keys: readonly string[]): Promise<Set<string>> {
  const gone = new Set<string>();
  let i = 0;
  let token: string | undefined;
  while (i < keys.length) {
    const out = await listObjectsPage(source.client, {
      bucket: source.bucket,
      prefix,
      ...(token ? { continuationToken: token } : { startAfter: keys[i].slice(0, -1) }),
      // About as many keys as are left to judge (copies finish in about key order), so a small batch reads a small page.
      maxKeys: Math.min(1000, keys.length - i + 32),
    });
    const listed = new Set(out.contents.map((o) => o.key));
    const last = out.contents.length ? out.contents[out.contents.length - 1].key : undefined;
    const complete = !out.isTruncated || !out.nextContinuationToken;
    const before = i;
    while (i < keys.length && (complete || (last !== undefined && byteOrder(keys[i], last) <= 0))) {
      if (!listed.has(keys[i])) gone.add(keys[i]);
      i++;
    }
    token = i === before ? out.nextContinuationToken : undefined;
  }
  return gone;
}

/**
 * The recheck of one copy, right after its write (the Batch Operations function copies one object per task, so there
 * is no batch to share a listing with): 'kept' when its legacy key is still listed, else the copy is removed again.
 */
export async function recheckCopy(source: Source, target: Target, w: Written): Promise<'kept' | 'undone'> {
  const gone = await missingFromLegacy(source, w.key, [w.key]);
  if (!gone.has(w.key)) return 'kept';
  await undoCopy(target, w);
  return 'undone';
}

/** Removes the copy this tool wrote, if the key still holds it (write-new.ts deleteIfStill). */
async function undoCopy(target: Target, w: Written): Promise<void> {
  await deleteIfStill(target, w.key, (now) =>
    holdsOwnCopy(now, { sourceEtag: w.sourceEtag, versionId: w.newVersionId }),
  );
}
