/**
 * Group commit: items that arrive while a flush is running wait and go into
 * the next flush together. One item alone is flushed at once; under load many
 * share a flush. Every caller gets the result of the flush holding its item.
 */
export class GroupCommit<T, R> {
  private pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly flush: (batch: T[]) => Promise<R>) {}

  submit(item: T): Promise<R> {
    const result = new Promise<R>((resolve, reject) => this.pending.push({ item, resolve, reject }));
    this.running ??= this.drain();
    return result;
  }

  /** Resolves when everything submitted so far has been flushed. */
  async settled() {
    while (this.running) await this.running;
  }

  private async drain() {
    try {
      while (this.pending.length > 0) {
        // Let requests already on the way join this batch: a flush can run
        // without ever giving the event loop a turn (git writes are synchronous).
        await new Promise((resolve) => setImmediate(resolve));
        const batch = this.pending;
        this.pending = [];
        try {
          const result = await this.flush(batch.map((p) => p.item));
          for (const p of batch) p.resolve(result);
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
