/**
 * A migration run's dispatcher (run.ts runs it beside the lister): takes pending keys from the checkpoint in key order
 * and hands each to a worker, within the pace S3 allows (pacer.ts: objects in flight, pauses between starts), the
 * memory budget (memory-budget.ts) and the run's limit. A worker copies one object (`copy`: copy-object.ts), retries
 * temporary failures with backoff, and records the outcome in the checkpoint.
 *
 * Passes: a manifest's keys arrive in any order, so keys can be recorded behind a pass. A pass that started anything
 * is followed by another from the start (keys in flight, still pending, are passed over); the dispatcher ends after a
 * pass that found nothing to start and began when the listing was already complete.
 *
 * Memory: each object reserves what its codec holds (codec.memoryNeed: a few chunks when it streams) plus what the
 * copy path holds (small objects whole, large ones their multipart window: workspaces/codec-memory.ts), and waits
 * while the budget is spent; an object that could never fit is recorded as failed with the --memory it needs, without
 * stopping the run. An object whose size the key source did not tell (a Bucket,Key manifest) reserves what the largest
 * small object needs until its GET tells the size, then fits its reservation to it, and, if it is large, reserves its
 * upload window before the upload pass, when it holds no open stream (copy-object.ts SizeHooks).
 *
 * The stop signal stops taking new objects and lets those in flight finish; the abort signal also aborts those in
 * flight (their keys stay pending for the next run).
 */
import type { Codec } from '../codec/codec';
import { InFlight } from '../in-flight';
import { DONE_STATES, zeroCounts, type ObjectState } from '../objects/object-states';
import type { ObjectRow, Outcome } from '../objects/records';
import { COLLECTOR_SLACK_BYTES, objectMemoryNeed, type CopyWindow } from '../../../workspaces/codec-memory';
import { ConfigError } from '../../../workspaces/errors';
import { MIB } from '../../../workspaces/units';
import type { Checkpoint } from './checkpoint';
import { classify, failureOutcome, type Classified } from './classify';
import type { SizeHooks } from './copy-object';
import { MemoryBudget, OverMemoryBudget } from './memory-budget';
import { backoffDelay, DEFAULT_BACKOFF, sleepUnlessAborted, type BackoffOptions, type Pacer } from './pacer';

/** Copies one object (copy-object.ts copyObject with the run's clients and codec). */
export type CopyOne = (row: ObjectRow, signal: AbortSignal, hooks?: SizeHooks) => Promise<Outcome>;

export interface DispatchEvents {
  /** An object's outcome was recorded (the row with the size read, when it was read). */
  finished?(row: ObjectRow, outcome: Outcome): void;
  retrying?(row: ObjectRow, attempt: number, why: Classified, delayMs: number): void;
}

export interface DispatcherDeps {
  readonly checkpoint: Pick<Checkpoint, 'nextPending' | 'get' | 'markAttempt' | 'record'>;
  readonly pacer: Pick<Pacer, 'admit' | 'onSuccess'>;
  readonly codec: Pick<Codec, 'name' | 'memoryNeed'>;
  /** The copy path's parts (the target's part size and queue size). */
  readonly window: CopyWindow;
  readonly copy: CopyOne;
  /** Stops taking new objects; those in flight finish. */
  readonly stopSignal: AbortSignal;
  /** Aborts the objects in flight: their keys stay pending. */
  readonly abortSignal: AbortSignal;
  /** Whether the key source has recorded all its keys (then a pass that finds nothing to start is the last). */
  readonly listingDone: () => boolean;
  readonly events?: DispatchEvents;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface DispatchOptions {
  /** `--memory`, bytes: object data gets what the collector's slack leaves of it (objectDataBytes). */
  readonly memoryBytes: number;
  /** Attempts per object before it is left `failed` for the next run. */
  readonly maxAttempts: number;
  /** Start at most this many objects. */
  readonly limit?: number;
  readonly backoff?: BackoffOptions;
}

/** What the dispatcher has done: the run's result reads it. */
export interface DispatchTally {
  /** Objects finished, by the state they reached. */
  readonly processed: Record<ObjectState, number>;
  storedBytes: number;
  plaintextBytes: number;
  retries: number;
}

/** Where the dispatcher is in its passes over the checkpoint. */
interface PassState {
  pass: number;
  /** The last key taken in this pass (the next batch starts after it). */
  after?: string;
  /** Objects started, in all passes (the limit counts these). */
  started: number;
  startedThisPass: number;
  /** The listing was complete when this pass began: if it finds nothing to start, it is the last. */
  listedWhenPassBegan: boolean;
}

/** Pending keys read from the checkpoint at once. */
const BATCH = 256;
/** The longest a pass that found nothing waits for the lister before looking again, ms. */
const IDLE_WAIT_MS = 250;

export class Dispatcher {
  readonly tally: DispatchTally = { processed: zeroCounts(), storedBytes: 0, plaintextBytes: 0, retries: 0 };
  readonly budget: MemoryBudget;
  private wakeUp?: () => void;
  /** wake() was called since the current pass began: a pass that finds nothing looks again at once. */
  private woken = false;

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly opts: DispatchOptions,
  ) {
    this.budget = new MemoryBudget(objectDataBytes(opts.memoryBytes));
  }

  /** New keys were recorded, the listing ended, or the run stops: a dispatcher waiting for keys looks again. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** A copy was removed again (the photo was deleted while it was copied): counted as such, not as copied. */
  undone(): void {
    const { processed } = this.tally;
    processed.copied = Math.max(0, processed.copied - 1);
    processed['deleted-during-copy']++;
  }

  /** Dispatches until the stop signal, the limit, or a last pass; resolves when the objects in flight are done. */
  async run(): Promise<void> {
    const { checkpoint, pacer, stopSignal } = this.deps;
    const inFlight = new InFlight();
    const inFlightKeys = new Set<string>();
    const limit = this.opts.limit ?? Infinity;
    this.woken = false;
    const s: PassState = { pass: 1, started: 0, startedThisPass: 0, listedWhenPassBegan: this.deps.listingDone() };
    while (!stopSignal.aborted && s.started < limit) {
      const batch = checkpoint.nextPending(s.after, BATCH);
      if (batch.length === 0) {
        const idle = s.startedThisPass === 0;
        if (idle && s.listedWhenPassBegan) break;
        // A wake during the pass (the lister recorded its last page while this pass read the checkpoint) is not lost:
        // the next pass starts at once, without the idle wait.
        if (idle && !this.woken) await this.idleWait();
        Object.assign(s, { pass: s.pass + 1, after: undefined, startedThisPass: 0 });
        this.woken = false;
        s.listedWhenPassBegan = this.deps.listingDone();
        continue;
      }
      // Keys of the batch in flight as it was read (started on an earlier pass): only they can have been finished
      // since, so only they are looked up again below (a checkpoint read per key would cost every object).
      const inFlightAtRead =
        s.pass > 1 ? new Set(batch.filter((r) => inFlightKeys.has(r.key)).map((r) => r.key)) : undefined;
      for (const row of batch) {
        if (stopSignal.aborted || s.started >= limit) break;
        s.after = row.key;
        if (inFlightKeys.has(row.key)) continue;
        const release = await pacer.admit();
        if (stopSignal.aborted) {
          release();
          break;
        }
        // The batch was read before the wait for a slot: on a later pass the key may have been done meanwhile.
        if (
          inFlightKeys.has(row.key) ||
          (inFlightAtRead?.has(row.key) && checkpoint.get(row.key)?.state !== 'pending')
        ) {
          release();
          continue;
        }
        s.started++;
        s.startedThisPass++;
        inFlightKeys.add(row.key);
        inFlight.add(
          this.work(row).finally(() => {
            release();
            inFlightKeys.delete(row.key);
          }),
        );
      }
    }
    await inFlight.drained();
  }

  /**
   * Until wake() or IDLE_WAIT_MS. The timer is cleared on wake: a pending one would keep the process alive that long
   * after the run.
   */
  private idleWait(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, IDLE_WAIT_MS);
      this.wakeUp = done;
    });
  }

  /** One object: attempts until it is done, failed for good, out of attempts, or aborted (it stays pending). */
  private async work(row: ObjectRow): Promise<void> {
    const { checkpoint, events } = this.deps;
    const signal = this.deps.abortSignal;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return; // stays pending
      checkpoint.markAttempt(row.key);
      const known = row.size >= 0;
      const over = known ? this.overBudget(row.size) : undefined;
      if (over) return this.refuse(row, over);
      let held = this.reservation(row.size);
      let release = await this.budget.acquire(held);
      const { partSize } = this.deps.window;
      const hooks: SizeHooks | undefined = known
        ? undefined
        : {
            // The size was unknown: the reservation was the most a small object holds. Refuse what can never fit; a
            // small object gives back what it does not need; a large one's first pass (hashing) holds only its codec's
            // share.
            sized: async (stored) => {
              const over = this.overBudget(stored);
              if (over) throw over;
              const need = stored <= partSize ? this.reservation(stored) : this.deps.codec.memoryNeed(stored);
              if (need <= held) {
                if (stored <= partSize) release.shrinkTo(need);
                return;
              }
              release(); // never wait while holding: take it all again
              release = await this.budget.acquire(need);
              held = need;
            },
            // A large one: the upload window (and the codec's share) is reserved before pass 2, when no stream is open.
            beforeWindow: async (stored) => {
              release();
              release = await this.budget.acquire(this.reservation(stored));
            },
          };
      let outcome: Outcome;
      try {
        outcome = await this.deps.copy(row, signal, hooks);
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
        this.tally.retries++;
        events?.retrying?.(row, attempt, why, delay);
        await (this.deps.sleep ?? sleepUnlessAborted)(delay, signal);
        continue;
      }
      release();
      this.deps.pacer.onSuccess();
      checkpoint.record(row.key, { errorCode: null, errorMessage: null, httpStatus: null, ...outcome });
      this.count(row, outcome);
      return;
    }
  }

  /**
   * The bytes an object may hold in memory: what its codec holds and what the copy path holds. An object of unknown
   * size (UNKNOWN_SIZE, from a manifest without sizes) reserves what the largest small object holds; once the GET
   * tells its size, it fits its reservation to it (SizeHooks), so the stated bound holds either way.
   */
  private reservation(storedSize: number): number {
    const { codec, window } = this.deps;
    return objectMemoryNeed((n) => codec.memoryNeed(n), storedSize < 0 ? window.partSize : storedSize, window);
  }

  /** Why an object of this stored size can never be copied within the budget, or undefined. */
  private overBudget(storedSize: number): OverMemoryBudget | undefined {
    const need = this.reservation(storedSize);
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
    this.tally.processed[outcome.state]++;
    if (DONE_STATES.includes(outcome.state)) {
      this.tally.storedBytes += row.size;
      this.tally.plaintextBytes += outcome.plaintextSize ?? 0;
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
function objectDataBytes(memoryBytes: number): number {
  return Math.max(0, memoryBytes - COLLECTOR_SLACK_BYTES);
}

const BESIDE_SLACK = ` beside the ${inMib(COLLECTOR_SLACK_BYTES)} MiB kept for garbage the collector has not reclaimed yet`;

/**
 * Refuses (one line, a ConfigError: exit 2, before anything is written) a --memory that cannot hold even the largest
 * small object or one large object's upload window through this codec: every such object would be refused.
 */
export function checkMemoryHoldsAnObject(
  memoryBytes: number,
  codec: Pick<Codec, 'name' | 'memoryNeed'>,
  w: CopyWindow,
): void {
  const need = (size: number) => objectMemoryNeed((n) => codec.memoryNeed(n), size, w);
  const most = Math.max(need(w.partSize), need(w.partSize + 1));
  if (most <= objectDataBytes(memoryBytes)) return;
  const large = need(w.partSize + 1) >= need(w.partSize);
  const what = large
    ? `one large object's upload window (${w.queueSize + 2} parts of --part-size ${inMib(w.partSize)} MiB)`
    : `the largest small object (--part-size ${inMib(w.partSize)} MiB, held whole)`;
  throw new ConfigError(
    `--memory ${inMib(memoryBytes)} MiB cannot hold ${what} through codec ${codec.name}: it needs ${inMib(most)} MiB of object data${BESIDE_SLACK}; give --memory ${inMib(most + COLLECTOR_SLACK_BYTES)} or more, or a smaller --part-size`,
  );
}
