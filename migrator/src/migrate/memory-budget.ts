/**
 * The migrator's stated memory bound: every object reserves the bytes it may buffer before it starts (a whole small
 * object, or the multipart window of a large one), and waits while the budget is spent. One reservation larger than
 * the whole budget runs alone. A reservation can shrink (an object whose size was unknown when it reserved turned out
 * smaller): the bytes go back at once, without waiting.
 */

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
    const want = Math.min(bytes, this.capacity);
    while (this.used > 0 && this.used + want > this.capacity) {
      await new Promise<void>((wake) => this.waiters.push({ bytes: want, wake }));
    }
    this.used += want;
    let held = want;
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
