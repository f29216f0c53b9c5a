import type { RowDataPacket } from "mysql2/promise";
import { agentV1, LockstepError } from "@lockstep/shared";
import type { AgentDirectory } from "../agents/agent-directory.js";
import { findContainer, type ContainerRecord } from "../containers/container-repository.js";
import { classifyDrift, type Finding, type RecordView } from "./classify-drift.js";
import { markedRecord } from "./ownership-marker.js";
import type { Database } from "../db/database.js";

/** One VMID on one node: what the database says, what the node holds, and the verdict. */
export interface Comparison {
  readonly node: string;
  readonly vmid: number;
  readonly record: ContainerRecord | null;
  readonly on_node: {
    status: string;
    lock: string;
    tags: string[];
    marked_record: string | null;
    lock_verdict: string;
  } | null;
  readonly verdict: { readonly in_sync: boolean; readonly findings: readonly Omit<Finding, "node">[] };
}

/** Judges one VMID live, with the same rules as a reconcile pass. */
export async function compareContainer(
  pool: Database,
  agents: AgentDirectory,
  node: string,
  vmid: number,
): Promise<Comparison> {
  const agent = await agents.forNode(node);
  const ct = await agent.getContainer({ vmid }).then(
    (r) => r.container ?? null,
    (err: unknown) => {
      if (err instanceof LockstepError && err.code === "NOT_FOUND") return null;
      throw err;
    },
  );
  const lock = ct?.lock ? await agent.inspectLock({ vmid }) : null;
  const owner = ct ? markedRecord(ct.tags, ct.description) : null;
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT c.id, c.node, c.vmid, c.status, EXISTS (SELECT 1 FROM operations o WHERE o.container_id = c.id AND o.status IN ('queued', 'running')) AS busy
     FROM containers c WHERE c.status <> 'deleted' AND ((c.node = ? AND c.vmid = ?) OR c.id = ?)`,
    [node, vmid, owner ?? ""],
  );
  const records = new Map<string, RecordView>(
    rows.map((r) => [r.id as string, { id: r.id, node: r.node, vmid: r.vmid, status: r.status, busy: r.busy === 1 }]),
  );
  const view = ct && {
    vmid,
    running: ct.status === agentV1.ContainerStatus.RUNNING,
    lock: ct.lock,
    tags: ct.tags,
    description: ct.description,
    staleLock: lock?.verdict === agentV1.LockVerdict.STALE ? ct.lock : null,
  };
  const findings = classifyDrift(node, view ? [view] : [], records)
    .findings.filter((f) => f.vmid === vmid)
    .map(({ node: _node, ...rest }) => rest);
  const recordId = rows.find((r) => r.node === node && r.vmid === vmid)?.id as string | undefined;
  return {
    node,
    vmid,
    record: recordId ? await findContainer(pool, recordId) : null,
    on_node: ct && {
      status: ct.status === agentV1.ContainerStatus.RUNNING ? "running" : "stopped",
      lock: ct.lock,
      tags: ct.tags,
      marked_record: owner,
      lock_verdict: lock ? (agentV1.LockVerdict[lock.verdict] ?? "UNKNOWN") : "FREE",
    },
    verdict: { in_sync: findings.length === 0 && (ct !== null || recordId === undefined), findings },
  };
}
