/**
 * The migrator's stated memory bound: every object reserves the bytes it may buffer before it starts (what its codec
 * holds, and a whole small object or the multipart window of a large one: workspaces/codec-memory.ts), and waits while
 * the budget is spent. A reservation larger than the whole budget can never be granted: it is refused with
 * OverMemoryBudget (the run records the object as failed, naming the --memory it needs). A reservation can shrink (an
 * object whose size was unknown when it reserved turned out smaller): the bytes go back at once, without waiting.
 */

/** A reservation larger than the whole budget: the object can never be copied within it. */
export class OverMemoryBudget extends Error {
  override readonly name = 'OverMemoryBudget';
}

/** Gives the reservation back (once); `shrinkTo` gives back all but `bytes` of it now. */
export type Release = (() => void) & { shrinkTo(bytes: number): void };

export class MemoryBudget {
  private used = 0;
  private waiters: { bytes: number; wake: () => void }[] = [];

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  async acquire(bytes: number): Promise<Release> {
    if (bytes > this.capacity) {
      throw new OverMemoryBudget(
        `a reservation of ${bytes} bytes is more than the whole memory budget (${this.capacity} bytes)`,
      );
    }
    while (this.used + bytes > this.capacity) {
      await new Promise<void>((wake) => this.waiters.push({ bytes, wake }));
    }
    this.used += bytes;
    let held = bytes;
    let released = false;
    const giveBack = (bytes: number) => {
      this.used -= bytes;
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w.wake();
    };
    return Object.assign(
      () => {
        if (released) return;
        released = true;
        giveBack(held);
      },
      {
        shrinkTo: (bytes: number) => {
          const keep = Math.max(0, Math.min(held, bytes));
          if (released || keep === held) return;
          const freed = held - keep;
          held = keep;
          giveBack(freed);
        },
      },
    );
  }
}
