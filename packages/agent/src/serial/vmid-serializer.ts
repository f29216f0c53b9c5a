import { OperationRunningError } from "../errors.js";

export interface SerializeOptions {
  /** Gives up waiting for earlier work (the promise rejects with the signal's reason); work already started is not interrupted. */
  readonly signal?: AbortSignal;
}

/**
 * One FIFO queue per VMID for mutating work inside the agent: `run(vmid, work)` starts
 * `work` once all work queued earlier for the same VMID has settled; different VMIDs run
 * in parallel. A failure settles its slot like a success, so it never blocks the queue,
 * and a VMID with nothing queued costs no memory.
 *
 * Every RPC that changes a container goes through it (create, destroy, start, stop,
 * update config, exec, push file, ensure service, snapshots, clear lock): two of them on
 * one container would race on `pct`'s config lock and on the container's state. Read-only
 * RPCs bypass it (GetHealth, ListContainers, GetContainer, InspectLock, ListSnapshots,
 * GetOperation, WatchEvents): they take no lock, and a read must not wait behind a
 * 10-minute create. Duplicates of one request ID never reach it twice; the deduplicator
 * joins them first.
 *
 * Work that fails with OPERATION_RUNNING (its `pct` was killed but Proxmox's task worker
 * lives on) keeps the VMID until that worker ends: the caller gets its answer at once, and
 * the next work on the VMID starts only then, reading the node afresh.
 */
export class VmidSerializer {
  // The promise that settles when the last work queued for a VMID has settled.
  private readonly tails = new Map<number, Promise<void>>();

  /** Runs `work` after earlier work on `vmid`; resolves or rejects as `work` does. */
  run<T>(vmid: number, work: () => Promise<T>, options: SerializeOptions = {}): Promise<T> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const previous = this.tails.get(vmid) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(vmid, mine);
    const settle = (): void => {
      release();
      if (this.tails.get(vmid) === mine) this.tails.delete(vmid);
    };
    return new Promise<T>((resolve, reject) => {
      let gaveUp = false;
      const onAbort = (): void => {
        gaveUp = true;
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      void previous.then(async () => {
        signal?.removeEventListener("abort", onAbort);
        // A caller that gave up keeps its place until its turn, then passes it on at once.
        if (gaveUp) return settle();
        try {
          resolve(await work());
        } catch (err) {
          reject(err);
          if (err instanceof OperationRunningError) await err.ended.catch(() => undefined);
        } finally {
          settle();
        }
      });
    });
  }

  /**
   * Keeps `vmid` for something the agent did not start in this life, such as a task worker
   * found running at boot: later work on it waits until `until` settles.
   */
  hold(vmid: number, until: Promise<unknown>): void {
    void this.run(vmid, () =>
      until.then(
        () => undefined,
        () => undefined,
      ),
    );
  }

  /** VMIDs with work running or queued (idle ones are forgotten). */
  get busyVmids(): number {
    return this.tails.size;
  }
}
