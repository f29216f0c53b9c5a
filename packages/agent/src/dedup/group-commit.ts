type Job<I> =
  | { readonly kind: "item"; readonly item: I; readonly resolve: () => void; readonly reject: (err: unknown) => void }
  | { readonly kind: "task"; readonly run: () => Promise<void> };

/**
 * Group commit: items submitted while a commit is under way wait and are committed together
 * by the next one, so N concurrent appends cost one write and one fdatasync instead of N.
 * No timer and no batch size to tune: the batch is whatever arrived during the last sync.
 * Exclusive tasks (compaction) run between batches, in submission order, so they never
 * interleave with a commit.
 */
export class GroupCommit<I> {
  private readonly queue: Job<I>[] = [];
  private draining: Promise<void> | undefined;

  constructor(private readonly commit: (items: I[]) => Promise<void>) {}

  /** Resolves once the item is committed, with every item of its batch. */
  submit(item: I): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ kind: "item", item, resolve, reject }));
  }

  /** Runs `task` alone, after everything submitted before it. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => this.enqueue({ kind: "task", run: () => task().then(resolve, reject) }));
  }

  /** Resolves once nothing is queued or committing. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private enqueue(job: Job<I>): void {
    this.queue.push(job);
    if (this.draining) return;
    // Start on a microtask, so that items submitted in the same synchronous run share the first batch.
    this.draining = new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => this.drain());
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (head?.kind === "task") {
        this.queue.shift();
        await head.run();
        continue;
      }
      const end = this.queue.findIndex((job) => job.kind === "task");
      const batch = this.queue.splice(0, end === -1 ? this.queue.length : end) as Extract<Job<I>, { kind: "item" }>[];
      try {
        await this.commit(batch.map((job) => job.item));
        for (const job of batch) job.resolve();
      } catch (err) {
        for (const job of batch) job.reject(err);
      }
    }
    this.draining = undefined;
  }
}
