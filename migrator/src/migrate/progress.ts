/**
 * What a person sees while the migrator runs (through the one progress reporter, progress/reporter.ts): a bar on a
 * terminal (objects, bytes, rate, ETA, failures), or, when stderr is not a terminal, a JSON progress line every few
 * seconds plus one per problem.
 */
import type { ObjectRow, Outcome } from '../objects/records';
import { formatBytes } from '../../../workspaces/units';
import { timeLeft } from '../progress/format';
import { ProgressReporter, type ReporterOptions } from '../progress/reporter';
import type { Classified } from './classify';
import type { RunEvents } from './run';

export interface ProgressOptions extends ReporterOptions {
  /** Objects already known at the start (listed earlier) and already finished. */
  readonly knownTotal: number;
  readonly alreadyDone: number;
}

const BAR_FORMAT = ' {bar} {value}/{total} objects | {bytes} | {rate} obj/s | ETA {left} | problems {problems}';

export class MigrateProgress extends ProgressReporter implements RunEvents {
  private all: number;
  private done: number;
  private doneThisRun = 0;
  private bytes = 0;
  private problems = 0;

  constructor(opts: ProgressOptions) {
    super(opts, BAR_FORMAT, 'progress');
    this.all = opts.knownTotal;
    this.done = opts.alreadyDone;
  }

  protected value(): number {
    return this.done;
  }

  protected total(): number {
    return this.all;
  }

  listed(objects: number): void {
    this.all += objects;
    this.redraw();
  }

  finished(row: ObjectRow, outcome: Outcome): void {
    this.done++;
    this.doneThisRun++;
    this.bytes += row.size;
    if (outcome.state === 'quarantined' || outcome.state === 'failed') {
      this.problems++;
      this.note(
        'warn',
        { event: `object-${outcome.state}`, key: row.key, code: outcome.errorCode, status: outcome.httpStatus },
        outcome.errorMessage ?? outcome.state,
      );
    } else if (outcome.state !== 'copied') {
      this.opts.log.debug({ event: `object-${outcome.state}`, key: row.key }, outcome.state);
    }
    this.redraw();
  }

  /**
   * Takes the counts from elsewhere (the sum of the workers' progress lines, in a --workers run) instead of counting
   * finished objects itself.
   */
  absorb(s: {
    readonly done: number;
    readonly total: number;
    readonly doneThisRun: number;
    readonly bytes: number;
    readonly problems: number;
  }): void {
    this.done = s.done;
    this.all = s.total;
    this.doneThisRun = s.doneThisRun;
    this.bytes = s.bytes;
    this.problems = s.problems;
    this.redraw();
  }

  retrying(row: ObjectRow, attempt: number, why: Classified, delayMs: number): void {
    this.opts.log.debug(
      { event: 'object-retry', key: row.key, attempt, code: why.code, status: why.httpStatus, delayMs },
      why.message,
    );
  }

  uploadsCleaned(count: number): void {
    this.note(
      'info',
      { event: 'leftover-uploads-aborted', count },
      `aborted ${count} multipart upload(s) left by an interrupted run`,
      true,
    );
  }

  snapshot() {
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.doneThisRun / seconds : 0;
    const left = Math.max(0, this.all - this.done);
    return {
      done: this.done,
      total: this.all,
      doneThisRun: this.doneThisRun,
      bytes: this.bytes,
      objectsPerSecond: Number(rate.toFixed(1)),
      bytesPerSecond: Math.round(seconds > 0 ? this.bytes / seconds : 0),
      etaSeconds: rate > 0 ? Math.round(left / rate) : null,
      problems: this.problems,
    };
  }

  protected payload() {
    const s = this.snapshot();
    return {
      bytes: `${formatBytes(s.bytes)} (${formatBytes(s.bytesPerSecond)}/s)`,
      rate: s.objectsPerSecond.toFixed(1),
      left: timeLeft(s.etaSeconds),
      problems: s.problems,
    };
  }
}
