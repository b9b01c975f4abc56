/**
 * What a person sees while the audit runs: a progress bar on a terminal (legacy keys checked of those the checkpoint
 * knows, problems, rate), or, when stderr is not a terminal, a JSON progress line (pino) every few seconds.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { Logger } from '../log';
import { timeLeft } from '../migrate/progress';

export interface AuditEvents {
  /** One legacy key judged (`problem`: it has at least one problem). */
  checked?(problem: boolean): void;
  /** A phase begins (fallback count, merge, sample re-reads). */
  phase?(name: string, detail?: Record<string, unknown>): void;
}

export class AuditProgress implements AuditEvents {
  private checkedKeys = 0;
  private problems = 0;
  private readonly started = Date.now();
  private bar?: SingleBar;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly opts: {
      log: Logger;
      tty: boolean;
      expectedKeys: number;
      intervalMs?: number;
      stream?: NodeJS.WritableStream;
    },
  ) {}

  start(): void {
    if (this.opts.tty) {
      this.bar = new SingleBar(
        {
          // {left}, not cli-progress's own {eta}, which shows "NULL" (migrate/progress.ts).
          format: ' audit {bar} {value}/{total} legacy keys | {rate} keys/s | ETA {left} | problems {problems}',
          hideCursor: true,
          stream: this.opts.stream ?? process.stderr,
          fps: 5,
        },
        Presets.shades_classic,
      );
      this.bar.start(Math.max(this.opts.expectedKeys, 1), 0, this.payload());
    } else {
      this.timer = setInterval(
        () => this.opts.log.info({ event: 'audit-progress', ...this.snapshot() }, 'progress'),
        this.opts.intervalMs ?? 5000,
      );
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.bar) {
      this.bar.update(this.checkedKeys, this.payload());
      this.bar.stop();
    }
  }

  checked(problem: boolean): void {
    this.checkedKeys++;
    if (problem) this.problems++;
    if (this.bar) {
      if (this.checkedKeys > this.bar.getTotal()) this.bar.setTotal(this.checkedKeys);
      this.bar.update(this.checkedKeys, this.payload());
    }
  }

  phase(name: string, detail: Record<string, unknown> = {}): void {
    if (this.bar) return;
    this.opts.log.info({ event: `audit-${name}`, ...detail }, name);
  }

  snapshot() {
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.checkedKeys / seconds : 0;
    return {
      checked: this.checkedKeys,
      expected: this.opts.expectedKeys,
      problems: this.problems,
      keysPerSecond: Number(rate.toFixed(1)),
      etaSeconds: rate > 0 ? Math.max(0, Math.round((this.opts.expectedKeys - this.checkedKeys) / rate)) : null,
    };
  }

  private payload() {
    const s = this.snapshot();
    return { rate: s.keysPerSecond.toFixed(1), left: timeLeft(s.etaSeconds), problems: s.problems };
  }
}
