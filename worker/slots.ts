// The worker's concurrency: at most `size` commands hold a slot; the messages behind them wait in order.

export class Slots {
  private inUse = 0;
  /** Messages waiting for a slot; they count against what the next receive asks for. */
  private waiting = 0;
  private closed = false;
  private readonly waiters: Array<(granted: boolean) => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`concurrency must be a whole number of at least 1, got ${size}`);
  }

  /** Slots neither held nor promised to a waiting message: how many commands the next receive may ask for. */
  get free(): number {
    return this.size - this.inUse - this.waiting;
  }

  /** Resolves true with a slot held, or false once close() was called (the worker is stopping). */
  async acquire(): Promise<boolean> {
    this.waiting++;
    try {
      return await this.take();
    } finally {
      this.waiting--;
    }
  }

  private take(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.inUse < this.size) {
      this.inUse++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    // The slot passes straight to the next waiter, so inUse does not change.
    if (next) next(true);
    else this.inUse--;
  }

  /** No more slots: every waiting message, and every later acquire(), gets false. */
  close(): void {
    this.closed = true;
    for (const wake of this.waiters.splice(0)) wake(false);
  }
}
