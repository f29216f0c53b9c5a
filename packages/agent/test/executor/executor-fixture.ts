import { createMemoryLogger, ManualClock, type Logger } from "@lockstep/shared";
import { EventBus } from "../../src/events/event-bus.js";
import type { CallerScope } from "../../src/executor/executor.js";
import { ExecutorObservers } from "../../src/executor/executor-observers.js";
import { LocalExecutor } from "../../src/executor/local-executor.js";
import type { MutatingHandlers, ReadHandlers } from "../../src/executor/node-operations.js";
import { VmidSerializer } from "../../src/serial/index.js";

/** A request the executor's StartContainer takes, for VMID `vmid`. */
export const start = (requestId: string, vmid = 100) => ({ requestId, vmid, ownershipTag: "lockstep-test" });

/**
 * An executor whose StartContainer counts its runs and waits for `finish()`; its other
 * operations are `more`, or absent.
 */
export function countingExecutor(
  keepOutcomesMs = 60_000,
  more: Record<string, unknown> = {},
  maxRunning = 100,
  moreReads: Record<string, unknown> = {},
) {
  const clock = new ManualClock();
  const logger = createMemoryLogger();
  const events = new EventBus(logger);
  let runs = 0;
  let finish!: () => void;
  let gate = new Promise<void>((resolve) => (finish = resolve));
  const mutations = {
    StartContainer: async () => {
      runs += 1;
      await gate;
      return { replayed: false, status: 1, changed: true };
    },
    ...more,
  } as unknown as MutatingHandlers;
  const reads = { ProbeNode: async () => ({ pctResponsive: true }), ...moreReads } as unknown as ReadHandlers;
  const executor = new LocalExecutor({
    reads,
    mutations,
    serializer: new VmidSerializer(),
    observers: new ExecutorObservers(events),
    clock,
    keepOutcomesMs,
    maxRunning,
  });
  return {
    executor,
    clock,
    events,
    logger,
    runs: () => runs,
    /** Lets every StartContainer running or to come finish. */
    finish: () => {
      finish();
      gate = Promise.resolve();
    },
  };
}

export function caller(requestId: string, logger: Logger, signal = new AbortController().signal): CallerScope {
  return { requestId, logger, signal };
}
