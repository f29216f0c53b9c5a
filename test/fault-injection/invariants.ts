import type { RowDataPacket } from "mysql2/promise";
import type { Database } from "../../packages/api/src/db/database.js";
import type { CallRecord } from "@lockstep/sim";
import { configText, type Bystander } from "./bystanders.js";
import type { ContainerMove } from "./container-moves.js";
import type { JobAccounting } from "./job-accounting.js";
import type { NodeContainer } from "./node-truth.js";
import type { FaultKind } from "./scenario-plan.js";
import { foreignGuestChanges } from "./foreign-guest-changes.js";
import { agentUnlocks } from "./stale-lock-clears.js";
import type { LedgerEntry } from "./workload-client.js";

/** A fault as it really happened: where and from when. */
export interface InjectedFault {
  readonly kind: FaultKind;
  /** Null for a fault of no one node (a move concerns its source and target alike). */
  readonly node: string | null;
  readonly startedAt: number;
  /** A migration's or an HA relocation's container, nodes and outcome. */
  readonly move?: ContainerMove;
}

/** One invariant: its figures, and what broke it (empty when it holds). */
export interface InvariantResult {
  readonly name: string;
  readonly figures: string;
  readonly violations: string[];
}

export interface Evidence {
  readonly pool: Database;
  readonly ledger: readonly LedgerEntry[];
  readonly containers: readonly NodeContainer[];
  readonly jobs: JobAccounting;
  readonly faults: readonly InjectedFault[];
  /** Processes that exited without being killed. */
  readonly crashes: readonly string[];
  /** Others' guests the scenario placed on the nodes. */
  readonly bystanders: readonly Bystander[];
  /** Each node's simulator log of pct calls. */
  readonly calls: ReadonlyMap<string, readonly CallRecord[]>;
  /** The cluster directory pmxcfs serves (every node's configs). */
  readonly clusterDir: string;
  /** The records whose delete the workload sent (answered or not). */
  readonly deleteRequested: ReadonlySet<string>;
}

interface RecordRow extends RowDataPacket {
  id: string;
  node: string;
  vmid: number;
  status: string;
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** Every invariant of the fault-injection suite, checked against the database and the nodes. */
export async function checkInvariants(evidence: Evidence): Promise<InvariantResult[]> {
  const [records] = await evidence.pool.query<RecordRow[]>("SELECT id, node, vmid, status FROM containers");
  return [
    recordsMatchNodes(records, evidence.containers, evidence.bystanders),
    await identifiersUnique(evidence.pool, records, evidence.containers, evidence.bystanders),
    await jobsExactlyOnce(evidence.pool, records, evidence.jobs),
    acceptedRequestsRecorded(records, evidence.ledger),
    await incidentsExplained(evidence.pool, evidence.faults, evidence.bystanders),
    await alertsClosed(evidence.pool),
    await driftCleared(evidence.pool, evidence.containers, evidence.bystanders),
    {
      name: "no process died on its own",
      figures: `${evidence.crashes.length} crash(es) of an agent or API process`,
      violations: [...evidence.crashes],
    },
    onlyProvenStaleLocksCleared(evidence.calls, evidence.bystanders),
    othersUntouched(evidence.calls, evidence.bystanders, evidence.clusterDir),
    nothingDestroyedForMoving(evidence.jobs, evidence.deleteRequested, evidence.faults),
    recordsFollowTheirContainers(records, evidence.containers, evidence.faults),
  ];
}

function recordsMatchNodes(
  records: readonly RecordRow[],
  containers: readonly NodeContainer[],
  bystanders: readonly Bystander[],
): InvariantResult {
  const violations: string[] = [];
  const live = records.filter((r) => r.status !== "deleted");
  const byRecord = groupBy(
    containers.filter((c) => c.record),
    (c) => c.record!,
  );
  const liveIds = new Set(live.map((r) => r.id));
  for (const r of live) {
    const cts = byRecord.get(r.id) ?? [];
    if (r.status !== "running") violations.push(`record ${r.id} is ${r.status}, not running`);
    if (cts.length === 0) violations.push(`missing: record ${r.id} (CT ${r.vmid} on ${r.node}) has no container`);
    if (cts.length > 1)
      violations.push(`duplicate: record ${r.id} is carried by ${cts.map((c) => `${c.node}/${c.vmid}`).join(", ")}`);
    for (const ct of cts) {
      if (ct.node !== r.node || ct.vmid !== r.vmid)
        violations.push(`record ${r.id} says ${r.node}/${r.vmid}, its container is ${ct.node}/${ct.vmid}`);
      if (!ct.running) violations.push(`record ${r.id} is running, its container ${ct.node}/${ct.vmid} is stopped`);
    }
  }
  const orphans = containers.filter((c) => c.record && !liveIds.has(c.record));
  for (const c of orphans) violations.push(`orphan: ${c.node}/${c.vmid} carries record ${c.record}, which is not live`);
  const theirs = new Set(bystanders.map((b) => `${b.node}/${b.vmid}`));
  const foreign = containers.filter((c) => !c.record && !theirs.has(`${c.node}/${c.vmid}`));
  for (const c of foreign)
    violations.push(`foreign container ${c.node}/${c.vmid}: the scenario made no such container`);
  return {
    name: "records = containers on nodes",
    figures: `${live.length} live records, ${containers.length} containers on nodes; missing ${live.filter((r) => !byRecord.has(r.id)).length}, orphan ${orphans.length}, duplicate ${[...byRecord.values()].filter((c) => c.length > 1).length}`,
    violations,
  };
}

async function identifiersUnique(
  pool: Database,
  records: readonly RecordRow[],
  containers: readonly NodeContainer[],
  bystanders: readonly Bystander[],
): Promise<InvariantResult> {
  const violations: string[] = [];
  // VMs share the cluster's VMID space (pve-cluster Cluster.pm check_vmid_unused).
  const vms = new Set(bystanders.filter((b) => b.type === "qemu").map((b) => b.vmid));
  for (const r of records.filter((r) => r.status !== "deleted" && vms.has(r.vmid)))
    violations.push(`record ${r.id} holds VMID ${r.vmid}, which a VM has`);
  const live = records.filter((r) => r.status !== "deleted");
  for (const [vmid, holders] of groupBy(containers, (c) => c.vmid))
    if (holders.length > 1) violations.push(`VMID ${vmid} is on ${holders.map((c) => c.node).join(" and ")}`);
  for (const [vmid, holders] of groupBy(live, (r) => r.vmid))
    if (holders.length > 1) violations.push(`VMID ${vmid} is recorded for ${holders.length} live records`);
  const [allocations] = await pool.query<RowDataPacket[]>("SELECT vmid, container_id, owner FROM vmid_allocations");
  const allocated = new Map(allocations.map((a) => [a.container_id as string, Number(a.vmid)]));
  for (const r of live)
    if (allocated.get(r.id) !== r.vmid) violations.push(`record ${r.id} holds no allocation of its VMID ${r.vmid}`);
  const lockstepAllocations = allocations.filter((a) => a.owner !== "foreign");
  if (lockstepAllocations.length !== live.length)
    violations.push(`${lockstepAllocations.length} VMID allocations for ${live.length} live records`);
  const [ports] = await pool.query<RowDataPacket[]>(
    "SELECT p.node, p.port, c.status FROM port_allocations p LEFT JOIN containers c ON c.id = p.container_id",
  );
  const leaked = ports.filter((p) => p.status === null || p.status === "deleted");
  for (const p of leaked) violations.push(`port ${p.node}:${p.port} is still allocated to a deleted record`);
  return {
    name: "every VMID and port unique",
    figures: `${new Set(containers.map((c) => c.vmid)).size} VMIDs on nodes, ${allocations.length} allocated; ${ports.length} ports allocated, ${leaked.length} leaked`,
    violations,
  };
}

async function jobsExactlyOnce(
  pool: Database,
  records: readonly RecordRow[],
  jobs: JobAccounting,
): Promise<InvariantResult> {
  const violations: string[] = [];
  const [operations] = await pool.query<RowDataPacket[]>("SELECT id, kind, status, container_id FROM operations");
  const byStatus = groupBy(operations, (o) => o.status as string);
  for (const o of operations)
    if (o.status !== "succeeded" && o.status !== "cancelled")
      violations.push(`operation ${o.id} (${o.kind}) ended ${o.status}`);
  for (const r of records) {
    const creates = jobs.creates.get(r.id) ?? 0;
    const unknown = jobs.unknownCreates.get(r.id) ?? 0;
    const destroys = jobs.destroys.get(r.id) ?? 0;
    if (creates > 1) violations.push(`record ${r.id} was created ${creates} times in the cluster`);
    if (destroys > 1) violations.push(`record ${r.id} was destroyed ${destroys} times`);
    if (r.status !== "deleted" && creates + unknown === 0)
      violations.push(`live record ${r.id} has a container no create call made`);
  }
  for (const [snapshot, n] of jobs.snapshots) if (n > 1) violations.push(`snapshot ${snapshot} was taken ${n} times`);
  const count = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const statuses = ["succeeded", "cancelled", "failed", "queued", "running"]
    .map((s) => `${byStatus.get(s)?.length ?? 0} ${s}`)
    .join(", ");
  return {
    name: "every job finished exactly once",
    figures: `${operations.length} jobs (${statuses}); from ${jobs.calls} pct calls: ${count(jobs.creates)} creates for ${jobs.creates.size} records (and ${count(jobs.unknownCreates)} whose outcome nobody saw), ${count(jobs.destroys)} destroys, ${jobs.cleanups} leftover cleanups, ${count(jobs.snapshots)} Lockstep snapshots (${jobs.snapshots.size} distinct)`,
    violations,
  };
}

function acceptedRequestsRecorded(records: readonly RecordRow[], ledger: readonly LedgerEntry[]): InvariantResult {
  const violations: string[] = [];
  const byId = new Map(records.map((r) => [r.id, r]));
  const firstAnswer = new Map(ledger.filter((e) => e.request.kind !== "retry").map((e) => [e.request.n, e.answer]));
  let accepted = 0;
  let replays = 0;
  for (const entry of ledger) {
    const { request, answer } = entry;
    if (entry.skipped) continue;
    if (!answer) {
      violations.push(`request ${request.n} (${request.kind}) never got an answer`);
      continue;
    }
    if (request.kind === "retry") {
      replays++;
      const first = firstAnswer.get(request.of);
      if (
        first &&
        (first.status !== answer.status || first.id !== answer.id || first.operationId !== answer.operationId)
      ) {
        violations.push(
          `replay of request ${request.of} answered ${answer.status} ${answer.id ?? ""}, the first answer was ${first.status} ${first.id ?? ""}`,
        );
      }
      continue;
    }
    if (answer.status >= 300) continue;
    accepted++;
    const record = answer.id ? byId.get(answer.id) : undefined;
    if (!record) violations.push(`accepted ${request.kind} (request ${request.n}) has no record`);
    else if (request.kind === "delete" && record.status !== "deleted")
      violations.push(`accepted delete of ${record.id} left it ${record.status}`);
  }
  const refused = ledger.filter((e) => e.request.kind !== "retry" && e.answer && e.answer.status >= 300);
  return {
    name: "every accepted request has its record",
    figures: `${accepted} accepted, ${refused.length} refused (${[...new Set(refused.map((e) => `${e.answer!.status} ${e.answer!.code}`))].join(", ") || "none"}), ${replays} replays answered as the first, ${ledger.filter((e) => e.skipped).length} skipped, ${ledger.reduce((n, e) => n + e.retries, 0)} client retries`,
    violations,
  };
}

// Faults that end a task midway (its pct, its worker, the agent, a move, or a stopped pmxcfs
// failing its last config write, as vzdump's unlock): what they leave behind is a lock no task
// holds any more, and a container not in its recorded state.
const TASK_INTERRUPTED: readonly FaultKind[] = [
  "hang-pct",
  "crash-pct",
  "orphan-worker",
  "kill-agent",
  "kill-executor",
  "migrate",
  "ha-relocate",
  "pmxcfs-stop",
];

// Faults that make pct slow or fail as a hung one does: a pct killed midway has an unknown
// outcome; a hung, stopped or read-only pmxcfs, or a host crowded with processes, slows it.
const PCT_UNRESPONSIVE: readonly FaultKind[] = [
  "hang-pct",
  "crash-pct",
  "orphan-worker",
  "pmxcfs-pause",
  "pmxcfs-stop",
  "pmxcfs-no-quorum",
  "busy-host",
];

// Which injected faults explain an incident of each kind on the same node, at or after the
// fault began. `always`: ordinary operation produces it (every pct call holds its lock).
const EXPLAINED_BY: Record<string, readonly FaultKind[] | "always"> = {
  "lock-detected": "always",
  "lock-blocked": [
    "hang-pct",
    "crash-pct",
    "orphan-worker",
    "kill-agent",
    "kill-executor",
    "unreachable",
    "cut-agent-api",
    "backup",
    "operator-mount",
    "migrate",
    "ha-relocate",
    "pmxcfs-pause",
  ],
  "lock-cleared": TASK_INTERRUPTED,
  "operation-interrupted": ["kill-agent"],
  "hypervisor-unresponsive": PCT_UNRESPONSIVE,
  "alert-hypervisor-unresponsive": PCT_UNRESPONSIVE,
  "alert-agent-unreachable": [
    "kill-agent",
    "kill-executor",
    "unreachable",
    "cut-agent-api",
    "pmxcfs-pause",
    "busy-host",
  ],
  // Without quorum or with pmxcfs stopped, the node's /etc/pve is not trusted: it is not listed.
  "drift-unreachable": [
    "kill-agent",
    "kill-executor",
    "unreachable",
    "cut-agent-api",
    "pmxcfs-pause",
    "pmxcfs-stop",
    "pmxcfs-no-quorum",
    "busy-host",
  ],
  // A migration that failed midway leaves `lock: migrate` with no task and no flock (Migrate.pm).
  "drift-stale-lock": TASK_INTERRUPTED,
  // A move with --restart (and an HA relocation) stops the container for a while.
  "drift-state-mismatch": TASK_INTERRUPTED,
  // Proxmox moved one of Lockstep's containers (info): the record followed it.
  "container-moved": ["migrate", "ha-relocate"],
  // Its ports were taken on the node it moved to (every node's range starts alike): re-allocated there.
  "ports-reallocated": ["migrate", "ha-relocate"],
};

async function incidentsExplained(
  pool: Database,
  faults: readonly InjectedFault[],
  bystanders: readonly Bystander[],
): Promise<InvariantResult> {
  const theirs = new Set(bystanders.map((b) => `${b.node}/${b.vmid}`));
  const theirVmids = new Set(bystanders.map((b) => b.vmid));
  const [incidents] = await pool.query<RowDataPacket[]>(
    "SELECT id, at, node, vmid, kind, detail FROM incidents ORDER BY id",
  );
  const violations: string[] = [];
  const kinds = new Map<string, number>();
  const explained = (kind: string, detail: string, node: string | null, vmid: number | null, at: number): boolean => {
    // Others' guests the scenario placed are found foreign: that is their finding, not a fault's.
    if (kind === "drift-foreign" && theirs.has(`${node}/${vmid}`)) return true;
    // The allocator can pick a VMID one of those guests holds before a reconcile pass recorded
    // it (a VM holds its VMID cluster-wide); the record moves on: that guest explains it.
    if (kind === "foreign-vmid" && vmid !== null && theirVmids.has(vmid)) return true;
    // A repair ("stale-lock: lock cleared") is explained by whatever explains the finding it repairs.
    const base = kind === "drift-repair" ? `drift-${detail.split(":")[0]}` : kind.replace(/-resolved$/, "");
    const causes = kind === "alert-resolved" ? "always" : EXPLAINED_BY[base];
    if (causes === "always") return true;
    return (
      !!causes &&
      faults.some(
        (f) =>
          causes.includes(f.kind) && (f.node === null || node === null || f.node === node) && f.startedAt <= at + 1000,
      )
    );
  };
  for (const i of incidents) {
    kinds.set(i.kind as string, (kinds.get(i.kind as string) ?? 0) + 1);
    if (
      !explained(
        i.kind as string,
        String(i.detail),
        i.node as string | null,
        i.vmid as number | null,
        (i.at as Date).getTime(),
      )
    )
      violations.push(
        `incident ${i.id} ${i.kind} on ${i.node ?? "-"}/${i.vmid ?? "-"}: ${String(i.detail).slice(0, 200)}`,
      );
  }
  const summary = [...kinds]
    .sort()
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  return {
    name: "no incident left unexplained",
    figures: `${incidents.length - violations.length} of ${incidents.length} explained by the faults injected${summary ? ` (${summary})` : ""}`,
    violations,
  };
}

async function alertsClosed(pool: Database): Promise<InvariantResult> {
  const [alerts] = await pool.query<RowDataPacket[]>("SELECT node, kind, state FROM alerts");
  const open = alerts.filter((a) => a.state === "open");
  return {
    name: "no alert open for a recovered node",
    figures: `${alerts.length} alert(s) raised, ${open.length} open`,
    violations: open.map((a) => `alert ${a.kind} on ${a.node} is still open`),
  };
}

async function driftCleared(
  pool: Database,
  containers: readonly NodeContainer[],
  bystanders: readonly Bystander[],
): Promise<InvariantResult> {
  const theirs = new Set(bystanders.map((b) => `${b.node}/${b.vmid}`));
  const [all] = await pool.query<RowDataPacket[]>(
    "SELECT kind, node, vmid, detail FROM drift_findings WHERE resolved_at IS NULL",
  );
  // Others' guests stay `foreign` findings for as long as they exist: that is the report they get.
  const open = all.filter((f) => !(f.kind === "foreign" && theirs.has(`${f.node}/${f.vmid}`)));
  // A lock on someone else's guest is not Lockstep's to clear: whether Lockstep set it is
  // othersUntouched's check, which compares each such config with the one that was made.
  const locked = containers.filter((c) => c.lock && !theirs.has(`${c.node}/${c.vmid}`));
  return {
    name: "no drift and no stale lock left",
    figures: `${open.length} open drift finding(s), ${locked.length} container(s) with a lock property (others' guests aside)`,
    violations: [
      ...open.map((f) => `open drift finding ${f.kind} on ${f.node}/${f.vmid}: ${f.detail}`),
      ...locked.map((c) => `${c.node}/${c.vmid} still has 'lock: ${c.lock}'`),
    ],
  };
}

/** Every `pct unlock` the agent ran removed a lock it could prove stale (stale-lock-clears.ts). */
function onlyProvenStaleLocksCleared(
  calls: ReadonlyMap<string, readonly CallRecord[]>,
  bystanders: readonly Bystander[],
): InvariantResult {
  const { unlocks, violations } = agentUnlocks(calls, bystanders);
  return {
    name: "no lock cleared that Lockstep did not prove stale",
    figures: `${unlocks} lock(s) cleared by the agent`,
    violations,
  };
}

/** Others' guests: still there, and nothing Lockstep did changed them (foreign-guest-changes.ts). */
function othersUntouched(
  calls: ReadonlyMap<string, readonly CallRecord[]>,
  bystanders: readonly Bystander[],
  clusterDir: string,
): InvariantResult {
  const { agentCalls, violations } = foreignGuestChanges(calls, bystanders, (b) =>
    configText(clusterDir, b.node, b.type, b.vmid),
  );
  return {
    name: "no foreign guest ever changed",
    figures: `${bystanders.length} foreign guest(s) (${bystanders.filter((b) => b.type === "qemu").length} VMs inside the VMID range); ${agentCalls} agent call(s) on them, all reads`,
    violations,
  };
}

/**
 * No Lockstep container was destroyed or made again because Proxmox moved it: every destroy
 * the agent ran of a container it had made was of a record whose delete the workload asked
 * for, and no record moved was created a second time (its new node is not a reason to).
 */
function nothingDestroyedForMoving(
  jobs: JobAccounting,
  deleteRequested: ReadonlySet<string>,
  faults: readonly InjectedFault[],
): InvariantResult {
  const violations: string[] = [];
  const moves = faults.flatMap((f) => (f.move ? [f.move] : []));
  const moved = new Set(moves.filter((m) => m.moved).map((m) => m.record));
  for (const d of jobs.destroyed) {
    if (!deleteRequested.has(d.record))
      violations.push(
        `the agent destroyed CT ${d.vmid} on ${d.node}, the container of record ${d.record}${moved.has(d.record) ? " (moved by Proxmox)" : ""}, whose delete nobody asked for`,
      );
  }
  for (const record of moved) {
    const creates = jobs.creates.get(record) ?? 0;
    if (creates > 1) violations.push(`record ${record} was moved by Proxmox and created ${creates} times`);
  }
  const said = (how: ContainerMove["how"]) =>
    `${moves.filter((m) => m.how === how && m.moved).length} of ${moves.filter((m) => m.how === how).length}`;
  return {
    name: "no container destroyed or re-created because it moved",
    figures: `${said("migrate")} pct migrate and ${said("ha-relocate")} HA relocations of Lockstep's containers moved them; ${jobs.destroyed.length} destroys of made containers, all of records whose delete was asked`,
    violations,
  };
}

/**
 * No record was given up while its container lived: a record deleted or failed has no
 * container carrying its marker on any node, and a live record names the node its container
 * is on now (it followed the container Proxmox moved).
 */
function recordsFollowTheirContainers(
  records: readonly RecordRow[],
  containers: readonly NodeContainer[],
  faults: readonly InjectedFault[],
): InvariantResult {
  const violations: string[] = [];
  const byRecord = groupBy(
    containers.filter((c) => c.record),
    (c) => c.record!,
  );
  const given = records.filter((r) => r.status === "deleted" || r.status === "failed");
  for (const r of given) {
    for (const ct of byRecord.get(r.id) ?? [])
      violations.push(`record ${r.id} is ${r.status}, and its container ${ct.node}/${ct.vmid} lives`);
  }
  const live = records.filter((r) => r.status !== "deleted" && r.status !== "failed");
  let followed = 0;
  const movedRecords = new Set(faults.flatMap((f) => (f.move?.moved ? [f.move.record] : [])));
  for (const r of live) {
    for (const ct of byRecord.get(r.id) ?? []) {
      if (ct.node !== r.node)
        violations.push(
          `record ${r.id} names ${r.node}, its container ${ct.vmid} is on ${ct.node}${movedRecords.has(r.id) ? " (moved by Proxmox)" : ""}`,
        );
      else if (movedRecords.has(r.id)) followed++;
    }
  }
  return {
    name: "no record given up while its container lived",
    figures: `${given.length} records deleted or failed, ${live.length} live; ${followed} of ${[...movedRecords].filter((id) => live.some((r) => r.id === id)).length} live records moved by Proxmox name their container's new node`,
    violations,
  };
}
