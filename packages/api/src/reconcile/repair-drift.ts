import { randomUUID } from "node:crypto";
import type { RowDataPacket } from "mysql2/promise";
import type { AgentClient, Clock, Logger, ResolvedSpec } from "@lockstep/shared";
import type { PortRange } from "../allocation/allocate-ports.js";
import { markMissing } from "../lifecycle/container-lifecycle.js";
import { enqueueOperation } from "../lifecycle/operation-lifecycle.js";
import type { DriftPolicy } from "./drift-policy.js";
import { resolveFinding, type DriftRecord } from "./drift-store.js";
import { markedRecord, ownershipTag } from "./ownership-marker.js";
import { jsonColumn, type Database } from "../db/database.js";
import type { Fence } from "../leases/lease-store.js";

export interface RepairDeps {
  readonly pool: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: DriftPolicy;
  readonly maxAttempts: number;
  /** Ports of a container that moved to a node where others hold them are re-allocated here. */
  readonly ports: PortRange;
}

const ACTIVE_JOB =
  "EXISTS (SELECT 1 FROM operations o WHERE o.container_id = c.id AND o.status IN ('queued', 'running'))";

/**
 * Heals what is safe to heal, per policy: a stale lock on Lockstep's own container is cleared
 * through the agent (a foreign one is only reported); a missing
 * container's record is marked failed (or its pipeline queued again); an orphan is destroyed
 * only after its grace period, only with Lockstep's marker, and only while no job runs for its
 * record. A foreign container and a duplicate are only reported. Returns what was done.
 * Every write is fenced by the pass's lease, and so is every call that changes a node, right
 * before it (a call cannot be fenced atomically; its request ID makes a second one the same).
 */
export async function repairFinding(
  deps: RepairDeps,
  agent: AgentClient,
  finding: DriftRecord,
  fence: Fence,
): Promise<string | null> {
  const now = new Date(deps.clock.now());
  if (finding.kind === "stale-lock" && finding.vmid !== null && finding.container_id)
    return clearOwnStaleLock(deps, agent, finding, now, fence);
  if (finding.kind === "missing" && finding.container_id) return repairMissing(deps, finding, now, fence);
  if (finding.kind === "orphan" && finding.vmid !== null && deps.policy.orphans === "destroy")
    return destroyOrphan(deps, agent, finding, now, fence);
  return null;
}

/** Closes the finding in a transaction fenced by the pass's lease. */
async function resolveFenced(deps: RepairDeps, fence: Fence, id: number, resolution: string, now: Date): Promise<void> {
  await deps.pool.transaction(async (tx) => {
    await fence(tx);
    await resolveFinding(tx, id, resolution, now);
  });
}

/**
 * Clears a stale lock only on Lockstep's own container: the marker is read again on the node
 * right before, and the agent clears only a lock it still judges STALE.
 */
async function clearOwnStaleLock(
  deps: RepairDeps,
  agent: AgentClient,
  finding: DriftRecord,
  now: Date,
  fence: Fence,
): Promise<string | null> {
  const container = (await agent.getContainer({ vmid: finding.vmid! }).catch(() => null))?.container;
  if (!container || markedRecord(container.tags, container.description) !== finding.container_id) return null;
  await deps.pool.transaction(fence);
  const cleared = await agent.clearLock({
    requestId: `reconcile-unlock-${finding.id}-${finding.vmid}`,
    vmid: finding.vmid!,
  });
  if (!cleared.cleared) return null;
  await resolveFenced(deps, fence, finding.id, `stale lock '${cleared.previousLock}' cleared through the agent`, now);
  return "lock cleared";
}

async function repairMissing(deps: RepairDeps, finding: DriftRecord, now: Date, fence: Fence): Promise<string | null> {
  return deps.pool.transaction(async (tx) => {
    await fence(tx);
    const [rows] = await tx.query<RowDataPacket[]>(
      `SELECT c.id, c.node, c.spec FROM containers c WHERE c.id = ? AND c.status = 'running' AND NOT ${ACTIVE_JOB} FOR UPDATE`,
      [finding.container_id],
    );
    const record = rows[0];
    if (!record) return null;
    if (deps.policy.missing === "recreate") {
      const spec = jsonColumn(record.spec) as ResolvedSpec;
      await enqueueOperation(
        tx,
        {
          id: randomUUID(),
          containerId: record.id,
          node: record.node,
          kind: "apply",
          spec,
          maxAttempts: deps.maxAttempts,
        },
        now,
      );
      return "pipeline queued to create it again";
    }
    return (await markMissing(tx, record.id as string, now)) ? "record marked failed" : null;
  });
}

async function destroyOrphan(
  deps: RepairDeps,
  agent: AgentClient,
  finding: DriftRecord,
  now: Date,
  fence: Fence,
): Promise<string | null> {
  if (now.getTime() - Date.parse(finding.since) < deps.policy.orphanGraceMs) return null;
  const [busy] = await deps.pool.query<RowDataPacket[]>(
    "SELECT id FROM operations WHERE container_id = ? AND status IN ('queued', 'running') LIMIT 1",
    [finding.container_id],
  );
  if (busy.length > 0) return null;
  // The marker is read again on the node right before: only Lockstep's own container is
  // destroyed, and the destroy carries the tag the orphan carries, so the agent checks it too.
  const container = (await agent.getContainer({ vmid: finding.vmid! }).catch(() => null))?.container;
  const record = container ? markedRecord(container.tags, container.description) : null;
  if (!record || record !== finding.container_id) return null;
  await deps.pool.transaction(fence);
  await agent.destroyContainer(
    {
      requestId: `reconcile-orphan-${finding.id}-${finding.vmid}`,
      vmid: finding.vmid!,
      force: true,
      purge: true,
      ownershipTag: ownershipTag(record),
    },
    { timeoutMs: 30 * 60_000 },
  );
  await resolveFenced(
    deps,
    fence,
    finding.id,
    `orphan CT ${finding.vmid} destroyed after its grace period`,
    new Date(deps.clock.now()),
  );
  deps.logger.warn("orphan destroyed", { node: finding.node, vmid: finding.vmid, containerId: finding.container_id });
  return "orphan destroyed";
}
