/**
 * Jobs in flight: the bounded-parallel loop the migration's dispatcher (migrate/dispatcher.ts) and the audit's key
 * checks (audit/run-audit.ts) both run. Start a job, `add` it, wait for `room` before the next, and `drained` at the
 * end. A job's rejection is its own to handle: one that rejects makes `room` and `drained` reject with it.
 */
export class InFlight {
  private readonly jobs = new Set<Promise<void>>();

  get size(): number {
    return this.jobs.size;
  }

  /** Tracks the job until it settles. */
  add(job: Promise<void>): void {
    const tracked: Promise<void> = job.finally(() => this.jobs.delete(tracked));
    this.jobs.add(tracked);
  }

  /** Waits until fewer than `limit` jobs are in flight. */
  async room(limit: number): Promise<void> {
    while (this.jobs.size >= limit) await Promise.race(this.jobs);
  }

  /** Waits for every job in flight. */
  async drained(): Promise<void> {
    await Promise.all(this.jobs);
  }
}
