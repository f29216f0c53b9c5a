import type { PoolConnection } from "mysql2/promise";
import type { AgentDirectory } from "../agents/agent-directory.js";
import { findContainer } from "../containers/container-repository.js";
import { agentV1, LockstepError } from "@lockstep/shared";
import type { RowDataPacket } from "mysql2/promise";
import { ResourceNotFoundError } from "../errors.js";
import type { ClaimedJob } from "./job-store.js";

/** What a finished job writes, in the same transaction as the job's own completion. */
export type Commit = (tx: PoolConnection, now: Date) => Promise<void>;

/** The ownership tag a container carries on its node: its record's ID. */
export function ownershipTag(containerId: string): string {
  return `lockstep-${containerId}`;
}

/**
 * The agent call of each job kind. Its request ID is derived from the job alone, so every
 * attempt, by whichever API process, reaches the agent as the same request: one effect.
 */
export async function runJob(job: ClaimedJob, agents: AgentDirectory, db: import("mysql2/promise").Pool): Promise<Commit> {
  const container = await findContainer(db, job.containerId);
  if (!container) throw new ResourceNotFoundError(`container '${job.containerId}'`);
  const agent = await agents.forNode(job.node);
  // Derived from the job and its VMID alone: every attempt of this job on this VMID is one request.
  const requestId = `op-${job.id}-${container.vmid}`;
  if (job.kind === "create") {
    const spec = container.spec as { template: string; cores: number; memory_mb: number; swap_mb: number; disk_gb: number; storage: string; unprivileged: boolean };
    const created = await agent.createContainer(
      {
        requestId, vmid: container.vmid, template: spec.template, hostname: container.hostname, cores: spec.cores, memoryMb: spec.memory_mb, swapMb: spec.swap_mb,
        diskGb: spec.disk_gb, storage: spec.storage, unprivileged: spec.unprivileged, start: true, ownershipTag: ownershipTag(container.id), tags: ["lockstep"],
      },
      { timeoutMs: 30 * 60_000 },
    ).catch((err: unknown) => {
      if (err instanceof LockstepError && err.code === "ALREADY_EXISTS") throw new ForeignVmidError(container.vmid, err.message);
      throw err;
    });
    if (created.container?.status !== agentV1.ContainerStatus.RUNNING) {
      // "Ready" is what the node says, not what was asked for.
      const started = await agent.startContainer({ requestId: `${requestId}-start`, vmid: container.vmid });
      if (started.status !== agentV1.ContainerStatus.RUNNING) throw new LockstepError("VERIFICATION_FAILED", `CT ${container.vmid} is not running after create and start`);
    }
    return async (tx, now) => {
      await tx.query("UPDATE containers SET status = 'running', observed_state = 'running', observed_at = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'provisioning')", [now, now, container.id]);
    };
  }
  if (job.kind === "delete") {
    await waitForCreate(db, container.id);
    await agent.destroyContainer({ requestId, vmid: container.vmid, force: true, purge: true }, { timeoutMs: 30 * 60_000 });
    return async (tx, now) => {
      // The container is confirmed gone from the node: only now are its VMID and ports free.
      await tx.query("UPDATE containers SET status = 'deleted', observed_state = 'absent', deleted_at = ?, updated_at = ? WHERE id = ?", [now, now, container.id]);
      await tx.query("DELETE FROM vmid_allocations WHERE container_id = ?", [container.id]);
      await tx.query("DELETE FROM port_allocations WHERE container_id = ?", [container.id]);
    };
  }
  throw new Error(`unknown job kind '${job.kind}'`);
}

/** A delete waits while the container's create is still queued or running (retried later). */
async function waitForCreate(db: import("mysql2/promise").Pool, containerId: string): Promise<void> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT id FROM operations WHERE container_id = ? AND kind = 'create' AND status IN ('queued', 'running') LIMIT 1", [containerId]);
  if (rows.length > 0) throw new LockstepError("UNAVAILABLE", `the create of container ${containerId} is still running; the delete waits for it`);
}

/** The VMID is held on the node by a container that is not this record's: it is never adopted. */
export class ForeignVmidError extends LockstepError {
  constructor(readonly vmid: number, message: string) {
    super("ALREADY_EXISTS", message, { vmid: String(vmid) });
  }
}
