/**
 * What a person sees while the migrator runs: a progress bar on a terminal (objects, bytes, rate, ETA, failures),
 * or, when stderr is not a terminal, a JSON progress line every few seconds plus one per problem.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { Logger } from '../log';
import type { ObjectRow, Outcome } from '../objects/records';
import type { Classified } from './classify';
import type { RunEvents } from './run';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export interface ProgressOptions {
  readonly log: Logger;
  /** Objects already known at the start (listed earlier) and already finished. */
  readonly knownTotal: number;
  readonly alreadyDone: number;
  readonly tty: boolean;
  readonly intervalMs?: number;
  /** Where the bar goes (default stderr). */
  readonly stream?: NodeJS.WritableStream;
}

/**
 * The bar's format. cli-progress fills its own {eta} token (its value wins over a payload's of that name), and prints
 * "NULL" for it when it cannot tell, at the start and once the bar is full: the time left is ours, in {left}.
 */
const BAR_FORMAT = ' {bar} {value}/{total} objects | {bytes} | {rate} obj/s | ETA {left} | problems {problems}';

export class MigrateProgress implements RunEvents {
  private total: number;
  private done: number;
  private doneThisRun = 0;
  private bytes = 0;
  private problems = 0;
  private readonly started = Date.now();
  private bar?: SingleBar;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: ProgressOptions) {
    this.total = opts.knownTotal;
    this.done = opts.alreadyDone;
  }

  start(): void {
    if (this.opts.tty) {
      this.bar = new SingleBar(
        {
          format: BAR_FORMAT,
          hideCursor: true,
          stream: this.opts.stream ?? process.stderr,
          fps: 5,
        },
        Presets.shades_classic,
      );
      this.bar.start(Math.max(this.total, 1), this.done, this.payload());
    } else {
      this.timer = setInterval(
        () => this.opts.log.info({ event: 'progress', ...this.snapshot() }, 'progress'),
        this.opts.intervalMs ?? 5000,
      );
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.bar) {
      this.bar.update(this.done, this.payload());
      this.bar.stop();
    }
  }

  listed(objects: number): void {
    this.total += objects;
    this.bar?.setTotal(Math.max(this.total, 1));
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
    this.bar?.update(this.done, this.payload());
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
    this.total = s.total;
    this.doneThisRun = s.doneThisRun;
    this.bytes = s.bytes;
    this.problems = s.problems;
    this.bar?.setTotal(Math.max(this.total, 1));
    this.bar?.update(this.done, this.payload());
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
    );
  }

  /** A line for a person: through the bar on a terminal, else as a JSON log line. */
  note(level: 'info' | 'warn', fields: Record<string, unknown>, msg: string): void {
    if (this.bar) {
      if (level === 'warn' || fields.event === 'leftover-uploads-aborted') {
        process.stderr.write(
          `\r\x1b[K${level === 'warn' ? 'warning: ' : ''}${msg}${fields.key ? ` (${String(fields.key)})` : ''}\n`,
        );
        this.bar.update(this.done, this.payload());
      }
      return;
    }
    this.opts.log[level](fields, msg);
  }

  snapshot() {
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.doneThisRun / seconds : 0;
    const left = Math.max(0, this.total - this.done);
    return {
      done: this.done,
      total: this.total,
      doneThisRun: this.doneThisRun,
      bytes: this.bytes,
      objectsPerSecond: Number(rate.toFixed(1)),
      bytesPerSecond: Math.round(seconds > 0 ? this.bytes / seconds : 0),
      etaSeconds: rate > 0 ? Math.round(left / rate) : null,
      problems: this.problems,
    };
  }

  private payload() {
    const s = this.snapshot();
    return {
      bytes: `${formatBytes(s.bytes)} (${formatBytes(s.bytesPerSecond)}/s)`,
      rate: s.objectsPerSecond.toFixed(1),
      left: timeLeft(s.etaSeconds),
      problems: s.problems,
    };
  }
}

/** The time left for a progress bar: "-" until a rate is known. */
export function timeLeft(seconds: number | null): string {
  return seconds === null ? '-' : formatDuration(seconds);
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
