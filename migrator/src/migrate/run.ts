/**
 * A migration run: the lister streams legacy pages into the checkpoint while the dispatcher (dispatcher.ts) takes
 * pending keys from it, in key order, and hands them to at most `concurrency` workers (fewer while S3 pushes back),
 * each object within the memory budget. Each worker copies one object (copy-object.ts), retries temporary failures
 * with backoff, and records the outcome in the checkpoint; copies are rechecked against deletes (recheck-deletes.ts).
 *
 * Memory is bounded by the memory budget and does not grow with the number of keys (dispatcher.ts says how each object
 * reserves its share). `stop()` stops taking new objects and lets those in flight finish; `abort()` also aborts those
 * in flight (their multipart uploads are aborted; their keys stay pending for the next run).
 */
import { setMaxListeners } from 'events';
import type { Codec } from '../codec/codec';
import { type Checkpoint } from './checkpoint';
import { NEEDS_RECHECK, type ObjectState } from '../objects/object-states';
import { classify } from './classify';
import type { LargeObjectWrite } from './conditional-write-probe';
import { copyObject, type Source } from './copy-object';
import { checkMemoryHoldsAnObject, Dispatcher, type DispatchEvents } from './dispatcher';
import { DeleteRecheck } from './recheck-deletes';
import { abortUpload } from './upload-ledger';
import { backoffDelay, Pacer, type BackoffOptions, DEFAULT_BACKOFF, sleepUnlessAborted } from './pacer';
import type { Target } from '../objects/write-new';
import { observeThrottling } from './throttle-observer';
import { bucketListing } from '../sources/bucket-listing';
import type { KeySource } from '../sources/key-source';
import { inShard, type Shard } from '../sources/shard';

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
  /**
   * `--memory`, bytes: the most the process's RSS may rise above its baseline (object data and the collector's slack).
   */
  readonly memoryBytes: number;
  readonly backoff?: BackoffOptions;
  readonly listPageSize?: number;
  /** Only the keys of this shard (`--shard i/n`); the others are left to the other tasks. */
  readonly shard?: Shard;
}

export interface RunEvents extends DispatchEvents {
  listed?(objects: number, bytes: number): void;
  /** A copy was removed again: the app deleted the photo while it was being copied. */
  undone?(key: string): void;
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

export class MigrationRun {
  private readonly stopController = new AbortController();
  private readonly abortController = new AbortController();
  private readonly pacer: Pacer;
  private readonly dispatcher: Dispatcher;
  private listingDone = false;
  private listingError?: unknown;
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
        this.dispatcher.undone();
        deps.events?.undone?.(w.key);
      },
    });
    checkMemoryHoldsAnObject(opts.memoryBytes, deps.codec, deps.target);
    this.dispatcher = new Dispatcher(
      {
        checkpoint: deps.checkpoint,
        pacer: this.pacer,
        codec: deps.codec,
        window: deps.target,
        copy: (row, signal, hooks) => copyObject(row, deps, signal, hooks),
        stopSignal: this.stopController.signal,
        abortSignal: this.abortController.signal,
        listingDone: () => this.listingDone,
        sleep: deps.sleep,
        events: {
          retrying: (...args) => deps.events?.retrying?.(...args),
          finished: (row, outcome) => {
            deps.events?.finished?.(row, outcome);
            if (NEEDS_RECHECK.includes(outcome.state))
              this.recheck.add({
                key: row.key,
                sourceEtag: outcome.etag ?? row.etag,
                newVersionId: outcome.newVersionId,
              });
          },
        },
      },
      { memoryBytes: opts.memoryBytes, maxAttempts: opts.maxAttempts, limit: opts.limit, backoff: opts.backoff },
    );
    // Every request and stream in flight listens to these two signals.
    setMaxListeners(0, this.stopController.signal, this.abortController.signal);
  }

  /** Stops taking new objects; those in flight finish. */
  stop(): void {
    this.stopController.abort();
    this.dispatcher.wake();
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
    return this.dispatcher.budget.inUse;
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
    if (!recheckError) await this.dispatcher.run();
    this.stop(); // the lister stops too once the dispatcher is done (limit, stop, or nothing left)
    await lister;
    await this.recheck.drain().catch((err) => (recheckError ??= err));
    const finished = new Date();
    const { processed, storedBytes, plaintextBytes, retries } = this.dispatcher.tally;
    return {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      processed: { ...processed },
      storedBytes,
      plaintextBytes,
      retries,
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
      await abortUpload(target.client, target.bucket, u.key, u.uploadId);
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
          this.dispatcher.wake();
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
        await (this.deps.sleep ?? sleepUnlessAborted)(
          backoffDelay(attempt, this.opts.backoff ?? DEFAULT_BACKOFF),
          signal,
        );
      }
    }
    this.listingDone = true;
    this.dispatcher.wake();
  }
}
