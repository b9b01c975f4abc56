/**
 * A migration run: the lister streams legacy pages into the checkpoint while the dispatcher takes pending keys from
 * it, in key order, and hands them to at most `concurrency` workers (fewer while S3 pushes back). Each worker copies
 * one object (copy-object.ts), retries temporary failures with backoff, and records the outcome in the checkpoint.
 *
 * Memory is bounded by the memory budget and does not grow with the number of keys: each object reserves what its codec
 * holds (codec.memoryNeed: a few chunks when it streams) plus what the copy path holds (small objects whole, large ones
 * their multipart window), waits while the budget is spent, and an object that could never fit is recorded as failed
 * with the --memory it needs, without stopping the run. An object whose size the key source did not tell (a Bucket,Key
 * manifest) reserves what the largest small object needs until its GET tells the size, then fits its reservation to it,
 * and, if it is large, reserves its upload window before the upload pass, when it holds no open stream (reservation(),
 * copy-object.ts SizeHooks).
 * Keys may arrive out of key order (manifests): the dispatcher makes passes until one finds nothing left behind. `stop()` stops taking new objects and lets those in flight finish; `abort()` also
 * aborts those in flight (their multipart uploads are aborted; their keys stay pending for the next run).
 */
import { AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { setMaxListeners } from 'events';
import type { Codec } from '../codec/codec';
import { type Checkpoint } from './checkpoint';
import { DONE_STATES, NEEDS_RECHECK, zeroCounts, type ObjectState } from '../objects/object-states';
import { type ObjectRow, type Outcome } from '../objects/records';
import { classify, failureOutcome, type Classified } from './classify';
import type { LargeObjectWrite } from './conditional-write-probe';
import { copyObject, type SizeHooks, type Source } from './copy-object';
import { DeleteRecheck } from './recheck-deletes';
import { COLLECTOR_SLACK_BYTES, copyPathNeed, type CopyWindow } from '../../../workspaces/codec-memory';
import { ConfigError } from '../../../workspaces/errors';
import { MemoryBudget, OverMemoryBudget } from './memory-budget';
import { backoffDelay, Pacer, type BackoffOptions, DEFAULT_BACKOFF } from './pacer';
import type { Target } from '../objects/write-new';
import { observeThrottling } from './throttle-observer';
import { bucketListing } from '../sources/bucket-listing';
import type { KeySource } from '../sources/key-source';
import { inShard, type Shard } from '../sources/shard';
import { MIB } from '../../../workspaces/units';

export interface RunOptions {
  readonly concurrency: number;
  readonly prefix: string;
  /** Process at most this many objects in this run. */
  readonly limit?: number;
  /** Attempts per object in one run before it is left `failed` for the next run. */
  readonly maxAttempts: number;
  readonly retryQuarantined: boolean;
  /** List the legacy bucket again from the start (new keys are added; changed ones become pending). */
  readonly relist?: boolean;
  /** `--memory`, bytes: the most the process's RSS may rise above its baseline (object data and the collector's slack). */
  readonly memoryBytes: number;
  readonly backoff?: BackoffOptions;
  readonly listPageSize?: number;
  /** Only the keys of this shard (`--shard i/n`); the others are left to the other tasks. */
  readonly shard?: Shard;
}

export interface RunEvents {
  listed?(objects: number, bytes: number): void;
  finished?(row: ObjectRow, outcome: Outcome): void;
  /** A copy was removed again: the app deleted the photo while it was being copied. */
  undone?(key: string): void;
  retrying?(row: ObjectRow, attempt: number, why: Classified, delayMs: number): void;
  uploadsCleaned?(count: number): void;
}

export interface RunDeps {
  readonly source: Source;
  readonly target: Target;
  readonly codec: Codec;
  /** How objects above the part size are written (conditional-write-probe.ts). */
  readonly largeObjects: LargeObjectWrite;
  readonly checkpoint: Checkpoint;
  /** Where the keys come from (default: a listing of the source bucket under the prefix). */
  readonly keys?: KeySource;
  readonly events?: RunEvents;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RunResult {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  /** Objects this run finished, by the state they reached. */
  readonly processed: Record<ObjectState, number>;
  readonly storedBytes: number;
  readonly plaintextBytes: number;
  readonly retries: number;
  readonly throttles: number;
  readonly interrupted: boolean;
  readonly listingComplete: boolean;
  /** Why the listing stopped early, when it failed (permanently, or after every attempt). */
  readonly listingError?: string;
  /** Why the delete recheck of copies failed; they stay marked for the next run. */
  readonly recheckError?: string;
  /** Copies written but not yet rechecked (only after a recheck failure). */
  readonly unrechecked: number;
  /** The whole checkpoint, after this run. */
  readonly totals: Record<ObjectState, { count: number; bytes: number }>;
}

const sleepFor = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export class MigrationRun {
  private readonly stopController = new AbortController();
  private readonly abortController = new AbortController();
  private readonly pacer: Pacer;
  private readonly budget: MemoryBudget;
  private readonly processed = zeroCounts();
  private storedBytes = 0;
  private plaintextBytes = 0;
  private retries = 0;
  private listingDone = false;
  private listingError?: unknown;
  private wakeDispatcher?: () => void;
  private readonly recheck: DeleteRecheck;

  constructor(
    private readonly deps: RunDeps,
    private readonly opts: RunOptions,
  ) {
    this.pacer = new Pacer({
      maxConcurrency: opts.concurrency,
      recoverAfter: 4,
      minPauseMs: 50,
      maxPauseMs: 2_000,
      cooldownMs: 1_000,
    });
    for (const client of new Set([deps.source.client, deps.target.client]))
      observeThrottling(client, () => this.pacer.onThrottle());
    this.recheck = new DeleteRecheck({
      source: deps.source,
      target: deps.target,
      checkpoint: deps.checkpoint,
      prefix: opts.prefix,
      onUndone: (w) => {
        this.processed.copied = Math.max(0, this.processed.copied - 1);
        this.processed['deleted-during-copy']++;
        deps.events?.undone?.(w.key);
      },
    });
    checkMemoryHoldsAnObject(opts.memoryBytes, deps.codec, deps.target);
    this.budget = new MemoryBudget(objectDataBytes(opts.memoryBytes));
    // Every request and stream in flight listens to these two signals.
    setMaxListeners(0, this.stopController.signal, this.abortController.signal);
  }

  /** Stops taking new objects; those in flight finish. */
  stop(): void {
    this.stopController.abort();
    this.wakeDispatcher?.();
  }

  /** Stops and aborts the objects in flight too. */
  abort(): void {
    this.stop();
    this.abortController.abort();
  }

  get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  get inFlightBudget(): number {
    return this.budget.inUse;
  }

  get pace() {
    return this.pacer.pace;
  }

  async run(): Promise<RunResult> {
    const started = new Date();
    const { checkpoint } = this.deps;
    await this.cleanLeftoverUploads();
    // Copies a crash left unrechecked are judged before anything else.
    for (const row of checkpoint.unrechecked())
      this.recheck.add({ key: row.key, sourceEtag: row.etag, newVersionId: row.newVersionId });
    let recheckError: unknown;
    await this.recheck.drain().catch((err) => (recheckError = err));
    checkpoint.requeue({ quarantined: this.opts.retryQuarantined });
    if (this.opts.relist) checkpoint.resetListing();
    const lister = this.listInto();
    if (!recheckError) await this.dispatch();
    this.stop(); // the lister stops too once the dispatcher is done (limit, stop, or nothing left)
    await lister;
    await this.recheck.drain().catch((err) => (recheckError ??= err));
    const finished = new Date();
    return {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      processed: { ...this.processed },
      storedBytes: this.storedBytes,
      plaintextBytes: this.plaintextBytes,
      retries: this.retries,
      throttles: this.pacer.throttles,
      interrupted: this.interruptedByUser,
      listingComplete: checkpoint.listCursor().complete,
      listingError: this.listingError ? classify(this.listingError).message : undefined,
      recheckError: recheckError ? classify(recheckError).message : undefined,
      unrechecked: checkpoint.countUnrechecked(),
      totals: checkpoint.counts(),
    };
  }

  /** Set by the CLI when the stop came from the user (Ctrl-C), not from reaching the end or the limit. */
  interruptedByUser = false;

  /** Multipart uploads a killed run left behind (recorded in the checkpoint) are aborted first. */
  private async cleanLeftoverUploads(): Promise<void> {
    const { checkpoint, target } = this.deps;
    const left = checkpoint.leftoverUploads();
    for (const u of left) {
      try {
        await target.client.send(
          new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: u.key, UploadId: u.uploadId }),
        );
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status !== 404) throw err; // NoSuchUpload: it was completed or aborted already
      }
      checkpoint.clearUpload(u.uploadId);
    }
    if (left.length) this.deps.events?.uploadsCleaned?.(left.length);
  }

  private async listInto(): Promise<void> {
    const { checkpoint, source } = this.deps;
    const cursor = checkpoint.listCursor();
    if (cursor.complete) {
      this.listingDone = true;
      return;
    }
    const keys =
      this.deps.keys ??
      bucketListing(source.client, source.bucket, { prefix: this.opts.prefix, pageSize: this.opts.listPageSize });
    const signal = this.stopController.signal;
    let attempt = 0;
    let resumeAt = cursor.startAfter;
    while (!signal.aborted) {
      try {
        for await (const page of keys.pages({ cursor: resumeAt, signal })) {
          const mine = this.opts.shard ? page.objects.filter((o) => inShard(o.key, this.opts.shard)) : page.objects;
          checkpoint.addListedPage(mine, page.isLast, page.cursor);
          resumeAt = page.cursor;
          attempt = 0;
          this.deps.events?.listed?.(
            mine.length,
            mine.reduce((n, o) => n + Math.max(0, o.size), 0),
          );
          this.wakeDispatcher?.();
          if (signal.aborted) break;
        }
        break;
      } catch (err) {
        if (signal.aborted) break;
        const why = classify(err);
        attempt++;
        if (why.kind === 'permanent' || attempt >= this.opts.maxAttempts) {
          this.listingError = err;
          break;
        }
        await (this.deps.sleep ?? sleepFor)(backoffDelay(attempt, this.opts.backoff ?? DEFAULT_BACKOFF), signal);
      }
    }
    this.listingDone = true;
    this.wakeDispatcher?.();
  }

  /**
   * Takes pending keys in key order, in passes over the checkpoint. A manifest's keys arrive in any order, so keys can
   * be recorded behind a pass: a pass that started anything is followed by another from the start (keys in flight,
   * still pending, are passed over), and the dispatcher ends after a pass that found nothing to start and began when
   * the listing was already complete.
   */
  private async dispatch(): Promise<void> {
    const { checkpoint } = this.deps;
    const inFlight = new Set<Promise<void>>();
    const inFlightKeys = new Set<string>();
    let after: string | undefined;
    let started = 0;
    let startedThisPass = 0;
    let listedWhenPassBegan = this.listingDone;
    let pass = 1;
    const limit = this.opts.limit ?? Infinity;
    while (!this.stopping && started < limit) {
      const batch = checkpoint.nextPending(after, 256);
      if (batch.length === 0) {
        const idle = startedThisPass === 0;
        if (idle && listedWhenPassBegan) break;
        if (idle) {
          await new Promise<void>((resolve) => {
            this.wakeDispatcher = resolve;
            setTimeout(resolve, 250);
          });
        }
        after = undefined;
        pass++;
        startedThisPass = 0;
        listedWhenPassBegan = this.listingDone;
        continue;
      }
      for (const row of batch) {
        if (this.stopping || started >= limit) break;
        after = row.key;
        if (inFlightKeys.has(row.key)) continue;
        const release = await this.pacer.admit();
        if (this.stopping) {
          release();
          break;
        }
        // The batch was read before the wait for a slot: on a later pass the key may have been done meanwhile.
        if (pass > 1 && (inFlightKeys.has(row.key) || checkpoint.get(row.key)?.state !== 'pending')) {
          release();
          continue;
        }
        started++;
        startedThisPass++;
        inFlightKeys.add(row.key);
        const job = this.work(row).finally(() => {
          release();
          inFlight.delete(job);
          inFlightKeys.delete(row.key);
        });
        inFlight.add(job);
      }
    }
    await Promise.all(inFlight);
  }

  private async work(row: ObjectRow): Promise<void> {
    const { checkpoint, events } = this.deps;
    const signal = this.abortController.signal;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return; // stays pending
      checkpoint.markAttempt(row.key);
      const known = row.size >= 0;
      const over = known ? this.overBudget(row.size) : undefined;
      if (over) return this.refuse(row, over);
      let held = this.reservation(row);
      let release = await this.budget.acquire(held);
      const hooks: SizeHooks | undefined = known
        ? undefined
        : {
            // The size was unknown: the reservation was the most a small object holds. Refuse what can never fit; a small
            // object gives back what it does not need; a large one's first pass (hashing) holds only its codec's share.
            sized: async (stored) => {
              const over = this.overBudget(stored);
              if (over) throw over;
              const need =
                stored <= this.deps.target.partSize
                  ? this.reservation({ size: stored })
                  : this.deps.codec.memoryNeed(stored);
              if (need <= held) {
                if (stored <= this.deps.target.partSize) release.shrinkTo(need);
                return;
              }
              release(); // never wait while holding: take it all again
              release = await this.budget.acquire(need);
              held = need;
            },
            // A large one: the upload window (and the codec's share) is reserved before pass 2, when no stream is open.
            beforeWindow: async (stored) => {
              release();
              release = await this.budget.acquire(this.reservation({ size: stored }));
            },
          };
      let outcome: Outcome;
      try {
        outcome = await copyObject(row, this.deps, signal, hooks);
      } catch (err) {
        release();
        if (signal.aborted) return; // aborted by the user: the key stays pending, nothing partial remains
        if (err instanceof OverMemoryBudget) return this.refuse(row, err);
        const why = classify(err);
        if (why.kind === 'permanent' || attempt >= this.opts.maxAttempts) {
          outcome = failureOutcome(why);
          checkpoint.record(row.key, outcome);
          this.count(row, outcome);
          return;
        }
        const delay = backoffDelay(attempt, this.opts.backoff ?? DEFAULT_BACKOFF);
        this.retries++;
        events?.retrying?.(row, attempt, why, delay);
        await (this.deps.sleep ?? sleepFor)(delay, signal);
        continue;
      }
      release();
      this.pacer.onSuccess();
      checkpoint.record(row.key, { errorCode: null, errorMessage: null, httpStatus: null, ...outcome });
      this.count(row, outcome);
      if (NEEDS_RECHECK.includes(outcome.state))
        this.recheck.add({ key: row.key, sourceEtag: outcome.etag ?? row.etag, newVersionId: outcome.newVersionId });
      return;
    }
  }

  /**
   * The bytes an object may hold in memory: what its codec holds (codec.memoryNeed) and what the copy path holds
   * (small ones whole, large ones their window: workspaces/codec-memory.ts). An object of unknown size (UNKNOWN_SIZE,
   * from a manifest without sizes) reserves what the largest small object holds; once the GET tells its size, it fits
   * its reservation to it (copy-object.ts SizeHooks), so the stated bound holds either way.
   */
  private reservation(row: Pick<ObjectRow, 'size'>): number {
    return objectNeed(this.deps.codec, row.size < 0 ? this.deps.target.partSize : row.size, this.deps.target);
  }

  /** Why an object of this stored size can never be copied within the budget, or undefined. */
  private overBudget(storedSize: number): OverMemoryBudget | undefined {
    const need = this.reservation({ size: storedSize });
    if (need <= this.budget.capacity) return undefined;
    const codec = this.deps.codec.memoryNeed(storedSize);
    return new OverMemoryBudget(
      `copying this ${inMib(storedSize)} MiB object needs ${inMib(need)} MiB of object data (codec ${this.deps.codec.name}: ${inMib(codec)} MiB, the copy: ${inMib(need - codec)} MiB)${BESIDE_SLACK}, more than --memory ${inMib(this.opts.memoryBytes)} MiB; run again with --memory ${inMib(need + COLLECTOR_SLACK_BYTES)} or more`,
    );
  }

  /** An object that can never fit the budget: failed (a run with more --memory copies it), the run goes on. */
  private refuse(row: ObjectRow, err: OverMemoryBudget): void {
    const outcome: Outcome = { state: 'failed', errorCode: err.name, errorMessage: err.message, httpStatus: null };
    this.deps.checkpoint.record(row.key, outcome);
    this.count(row, outcome);
  }

  private count(listed: ObjectRow, outcome: Outcome): void {
    // The size read, or the size listed (never UNKNOWN_SIZE as bytes).
    const row = { ...listed, size: outcome.size ?? Math.max(0, listed.size) };
    this.processed[outcome.state]++;
    if (DONE_STATES.includes(outcome.state)) {
      this.storedBytes += row.size;
      this.plaintextBytes += outcome.plaintextSize ?? 0;
    }
    this.deps.events?.finished?.(row, outcome);
  }
}

const inMib = (bytes: number) => Math.ceil(bytes / MIB);

/**
 * What --memory leaves for object data: the rest is kept for garbage the collector has not reclaimed yet
 * (workspaces/codec-memory.ts COLLECTOR_SLACK_BYTES, measured), so that the process's RSS stays within --memory above
 * its baseline.
 */
export function objectDataBytes(memoryBytes: number): number {
  return Math.max(0, memoryBytes - COLLECTOR_SLACK_BYTES);
}

const BESIDE_SLACK = ` beside the ${inMib(COLLECTOR_SLACK_BYTES)} MiB kept for garbage the collector has not reclaimed yet`;

/** The bytes one object's copy holds: its codec's share and the copy path's (workspaces/codec-memory.ts). */
function objectNeed(codec: Codec, storedSize: number, w: CopyWindow): number {
  return copyPathNeed(storedSize, w) + codec.memoryNeed(storedSize);
}

/**
 * Refuses (one line, a ConfigError: exit 2, before anything is written) a --memory that cannot hold even the largest
 * small object or one large object's upload window through this codec: every such object would be refused.
 */
export function checkMemoryHoldsAnObject(memoryBytes: number, codec: Codec, w: CopyWindow): void {
  const need = Math.max(objectNeed(codec, w.partSize, w), objectNeed(codec, w.partSize + 1, w));
  if (need <= objectDataBytes(memoryBytes)) return;
  const large = objectNeed(codec, w.partSize + 1, w) >= objectNeed(codec, w.partSize, w);
  const what = large
    ? `one large object's upload window (${w.queueSize + 2} parts of --part-size ${inMib(w.partSize)} MiB)`
    : `the largest small object (--part-size ${inMib(w.partSize)} MiB, held whole)`;
  throw new ConfigError(
    `--memory ${inMib(memoryBytes)} MiB cannot hold ${what} through codec ${codec.name}: it needs ${inMib(need)} MiB of object data${BESIDE_SLACK}; give --memory ${inMib(need + COLLECTOR_SLACK_BYTES)} or more, or a smaller --part-size`,
  );
}
