import { mkdir } from "node:fs/promises";
import path from "node:path";
import { OperationIntents } from "../../dedup/operation-intents.js";
import { EventBus } from "../../events/event-bus.js";
import { LockGuard } from "../../locks/lock-guard.js";
import { LockInspector } from "../../locks/lock-inspector.js";
import type { NodeContext } from "../../node/node-context.js";
import type { DoctorContext } from "../doctor-context.js";

/**
 * The context the agent's own operations run with, built as the daemon builds it (lock
 * inspector and guard, the same pct runner and /etc/pve port, the configured timeouts), over
 * a private working directory: the cycle's staged pushes and operation intents never mix
 * with the running agent's state.
 */
export async function cycleContext(ctx: DoctorContext, workDir: string): Promise<NodeContext> {
  const config = ctx.config;
  const proc = ctx.proc();
  const { node, locks } = config;
  const { paths, clusterFs, clock, logger, pct } = ctx;
  const events = new EventBus(logger);
  const inspector = new LockInspector({ node, paths, proc, clusterFs, clock, staleGraceMs: locks.staleGraceMs });
  const gate = new LockGuard({
    node,
    inspector,
    clusterFs,
    pct,
    events,
    clock,
    logger,
    policy: {
      retries: locks.retries,
      backoffMs: locks.backoffMs,
      backoffMaxMs: locks.backoffMaxMs,
      unlockTimeoutMs: config.pct.timeouts.readMs,
    },
  });
  const stagingDir = path.join(workDir, "staging");
  await mkdir(stagingDir, { mode: 0o700 });
  return {
    node,
    pct,
    gate,
    events,
    clock,
    logger,
    lockRetries: locks.retries,
    paths,
    stagingDir,
    proc,
    clusterFs,
    intents: await OperationIntents.open(path.join(workDir, "intents")),
    timeouts: config.pct.timeouts,
    verify: config.verify,
    limits: config.limits,
    // The cycle's container is made as the agent would make it: under the node's own policy.
    policy: config.policy,
  };
}
