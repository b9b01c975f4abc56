/**
 * The one progress reporter every long command uses: on a terminal a cli-progress bar on stderr, redrawn as the count
 * moves; otherwise (a pipe, a log collector) a JSON line (pino) every few seconds with the same figures. A command
 * says what it counts (value, total), what its bar shows (format and payload) and what its lines carry (snapshot);
 * starting, stopping, redrawing and the lines for a person belong here.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { Logger } from '../log';

export interface ReporterOptions {
  readonly log: Logger;
  /** A bar (stderr is a terminal) or periodic JSON lines. */
  readonly tty: boolean;
  /** Between JSON progress lines (default 5 s). */
  readonly intervalMs?: number;
  /** Where the bar goes (default stderr). */
  readonly stream?: NodeJS.WritableStream;
}

export abstract class ProgressReporter {
  protected readonly started = Date.now();
  private bar?: SingleBar;
  private timer?: NodeJS.Timeout;

  /**
   * @param format the bar's format. cli-progress fills its own {eta} token (its value wins over a payload's of that
   *   name) and prints "NULL" when it cannot tell: a bar shows the time left as {left} from `timeLeft`.
   * @param event the `event` field of each JSON progress line.
   */
  protected constructor(
    protected readonly opts: ReporterOptions,
    private readonly format: string,
    private readonly event: string,
  ) {}

  /** How many are done (the bar's value). */
  protected abstract value(): number;
  /** How many there are, as known so far (the bar's total). */
  protected abstract total(): number;
  /** The bar's tokens besides value and total. */
  protected abstract payload(): Record<string, unknown>;
  /** The figures of a JSON progress line (and of callers that sum several reporters). */
  abstract snapshot(): Record<string, unknown>;

  start(): void {
    if (this.opts.tty) {
      this.bar = new SingleBar(
        { format: this.format, hideCursor: true, stream: this.opts.stream ?? process.stderr, fps: 5 },
        Presets.shades_classic,
      );
      this.bar.start(Math.max(this.total(), 1), this.value(), this.payload());
    } else {
      this.timer = setInterval(
        () => this.opts.log.info({ event: this.event, ...this.snapshot() }, 'progress'),
        this.opts.intervalMs ?? 5000,
      );
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.bar) {
      this.bar.update(this.value(), this.payload());
      this.bar.stop();
    }
  }

  /** True while a bar is drawn (then lines for a person go through `note`, and detail lines are left out). */
  protected get drawing(): boolean {
    return this.bar !== undefined;
  }

  /** Redraws the bar after the counts moved; the total grows to the value if the value passed it. */
  protected redraw(): void {
    if (!this.bar) return;
    this.bar.setTotal(Math.max(this.total(), this.value(), 1));
    this.bar.update(this.value(), this.payload());
  }

  /**
   * A line for a person: above the bar on a terminal (warnings, and infos when `onTerminal`), else a JSON log line.
   */
  note(level: 'info' | 'warn', fields: Record<string, unknown>, msg: string, onTerminal = level === 'warn'): void {
    if (this.bar) {
      if (onTerminal) {
        (this.opts.stream ?? process.stderr).write(
          `\r\x1b[K${level === 'warn' ? 'warning: ' : ''}${msg}${fields.key ? ` (${String(fields.key)})` : ''}\n`,
        );
        this.bar.update(this.value(), this.payload());
      }
      return;
    }
    this.opts.log[level](fields, msg);
  }
}
