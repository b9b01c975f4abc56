/**
 * The migrator's stated memory bound: every object reserves the bytes it may buffer before it starts (a whole small
 * object, or the multipart window of a large one), and waits while the budget is spent. One reservation larger than
 * the whole budget runs alone.
 */
export class MemoryBudget {
  private used = 0;
  private waiters: { bytes: number; wake: () => void }[] = [];

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  async acquire(bytes: number): Promise<() => void> {
    const want = Math.min(bytes, this.capacity);
    while (this.used > 0 && this.used + want > this.capacity) {
      await new Promise<void>((wake) => this.waiters.push({ bytes: want, wake }));
    }
    this.used += want;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= want;
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w.wake();
    };
  }
}
