import { createMemoryLogger, type Clock, DEFAULT_POLICY } from "@lockstep/shared";
import { Reconciler } from "../../src/reconcile/reconciler.js";
import { noAgents } from "./no-agents.js";
import type { Database } from "../../src/db/database.js";
import { LeaseStore } from "../../src/leases/lease-store.js";

/** A reconciler for in-process app tests that never start it: the routes need one. */
export function idleReconciler(pool: Database, clock: Clock): Reconciler {
  const logger = createMemoryLogger();
  return new Reconciler({
    pool,
    agents: noAgents(pool),
    clock,
    logger,
    maxAttempts: 3,
    ports: { min: 20000, max: 29999 },
    policy: { missing: "mark-failed", orphans: "report", orphanGraceMs: 0 },
    globalPolicy: DEFAULT_POLICY,
    leases: new LeaseStore(pool, clock, "idle-reconciler"),
  });
}
