/**
 * What a person sees while the audit runs (through the one progress reporter, progress/reporter.ts): a bar on a
 * terminal (legacy keys checked of those the checkpoint knows, problems, rate), or, when stderr is not a terminal, a
 * JSON progress line every few seconds.
 */
import { timeLeft } from '../progress/format';
import { ProgressReporter, type ReporterOptions } from '../progress/reporter';

export interface AuditEvents {
  /** One legacy key judged (`problem`: it has at least one problem). */
  checked?(problem: boolean): void;
  /** A phase begins (fallback count, merge, sample re-reads). */
  phase?(name: string, detail?: Record<string, unknown>): void;
}

const BAR_FORMAT = ' audit {bar} {value}/{total} legacy keys | {rate} keys/s | ETA {left} | problems {problems}';

export class AuditProgress extends ProgressReporter implements AuditEvents {
  private checkedKeys = 0;
  private problems = 0;
  private readonly expectedKeys: number;

  constructor(opts: ReporterOptions & { readonly expectedKeys: number }) {
    super(opts, BAR_FORMAT, 'audit-progress');
    this.expectedKeys = opts.expectedKeys;
  }

  protected value(): number {
    return this.checkedKeys;
  }

  protected total(): number {
    return this.expectedKeys;
  }

  checked(problem: boolean): void {
    this.checkedKeys++;
    if (problem) this.problems++;
    this.redraw();
  }

  phase(name: string, detail: Record<string, unknown> = {}): void {
    if (this.drawing) return;
    this.opts.log.info({ event: `audit-${name}`, ...detail }, name);
  }

  snapshot() {
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.checkedKeys / seconds : 0;
    return {
      checked: this.checkedKeys,
      expected: this.expectedKeys,
      problems: this.problems,
      keysPerSecond: Number(rate.toFixed(1)),
      etaSeconds: rate > 0 ? Math.max(0, Math.round((this.expectedKeys - this.checkedKeys) / rate)) : null,
    };
  }

  protected payload() {
    const s = this.snapshot();
    return { rate: s.keysPerSecond.toFixed(1), left: timeLeft(s.etaSeconds), problems: s.problems };
  }
}
