import { ClusterPmxcfs } from "./cluster-pmxcfs.js";

const cleanups = new Set<() => Promise<unknown>>();
/** How long an interrupted run gives its clean-ups before it exits anyway. */
const CLEANUP_BOUND_MS = 30_000;

/**
 * Registers what an interrupted run must stop (a seed's cluster, the private MariaDB); the
 * returned function unregisters it once its owner stopped it itself.
 */
export function onInterrupt(cleanup: () => Promise<unknown>): () => void {
  cleanups.add(cleanup);
  return () => void cleanups.delete(cleanup);
}

/**
 * On SIGINT or SIGTERM: every pmxcfs mount goes at once (a paused one hangs every `df` on the
 * machine), then the registered clean-ups run, newest first, within a bound, and the run exits
 * as the signal asks. Nothing it started is left running.
 */
export function stopEverythingOnInterrupt(): void {
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    // `on`, not `once`: a second signal (an impatient Ctrl-C, or one relayed by a wrapper) must
    // not kill the run halfway through its clean-ups, leaving agents, FUSE servers and MariaDB
    // behind; the clean-ups are bounded anyway.
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      ClusterPmxcfs.unmountEverywhereNow();
      console.log(`\n${signal}: stopping everything this run started`);
      const all = (async () => {
        for (const cleanup of [...cleanups].reverse())
          await cleanup().catch((err: unknown) => console.log(`  clean-up failed: ${String(err)}`));
      })();
      const bound = new Promise((resolve) => setTimeout(resolve, CLEANUP_BOUND_MS).unref());
      void Promise.race([all, bound]).finally(() => process.exit(128 + (signal === "SIGINT" ? 2 : 15)));
    });
  }
}
