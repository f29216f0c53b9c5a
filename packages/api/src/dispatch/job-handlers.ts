import type { RowDataPacket } from "mysql2/promise";
import { DETAIL_REASON, LockstepError, runPipeline, type Clock, type ResolvedSpec } from "@lockstep/shared";
import type { AgentDirectory } from "../agents/agent-directory.js";
import type { PortRange } from "../allocation/allocate-ports.js";
import { findContainer } from "../containers/container-repository.js";
import { followContainer } from "../containers/follow-container.js";
import { locateContainer, type Sought, type Whereabouts } from "../containers/locate-container.js";
import { loadClusterMap, recordNodeCluster, type ClusterMap } from "../nodes/node-cluster.js";
import { effectiveRetention } from "../containers/snapshot-retention.js";
import { NodeInMaintenanceError, ResourceNotFoundError } from "../errors.js";
import { findNode } from "../nodes/node-repository.js";
import { finishDeletion, markRunning } from "../lifecycle/container-lifecycle.js";
import { ownershipTag } from "../reconcile/ownership-marker.js";
import type { ClaimedJob, JobStore } from "./job-store.js";
import type { Database, Queryable } from "../db/database.js";

/** A finished job: its result, and what it writes in the same transaction as its own success. */
export interface Outcome {
  readonly result: unknown;
  readonly commit: (tx: Queryable, now: Date) => Promise<void>;
}

/** What a job needs besides the job itself. */
export interface JobDeps {
  readonly db: Database;
  readonly agents: AgentDirectory;
  readonly jobs: JobStore;
  readonly clock: Clock;
  readonly snapshotKeepLast: number;
  /** Where ports are re-allocated when a container moved to a node where another holds them. */
  readonly ports: PortRange;
}

/**
 * Runs one job. Its agent request IDs are derived from the job alone, so every attempt, by
 * whichever API process, reaches the agent as the same requests: one effect each.
 */
export async function runJob(job: ClaimedJob, deps: JobDeps): Promise<Outcome> {
  const container = await findContainer(deps.db, job.containerId);
  if (!container) throw new ResourceNotFoundError(`container '${job.containerId}'`);
  const requestIdBase = `op-${job.id}-${container.vmid}`;
  const sought = { containerId: container.id, vmid: container.vmid, node: container.node };
  if (job.kind !== "create") await waitForEarlierJobs(deps.db, job);
  const node = await followIfMoved(job, deps, sought, await locate(deps, sought));
  // The container moved to a node in maintenance: the job waits there like the node's own.
  if (node !== sought.node) await requireNotInMaintenance(deps.db, node);
  if (job.kind === "create" || job.kind === "apply") {
    // Its delete cancels every job still queued behind an unstarted create: one that gets here
    // anyway must not make a container for a record that is gone (its VMID may be another's).
    if (container.status === "deleted")
      throw new LockstepError(
        "FAILED_PRECONDITION",
        `container ${container.id} is deleted; its ${job.kind} makes nothing`,
      );
    return converge(job, deps, node, sought, job.spec ?? (container.spec as ResolvedSpec), requestIdBase).catch(
      async (err: unknown) => {
        throw await movedUnder(job, deps, { ...sought, node }, err, requestIdBase);
      },
    );
  }
  if (job.kind === "delete") {
    const agent = await deps.agents.forNode(node);
    const destroyed = await agent
      .destroyContainer(
        {
          requestId: requestIdBase,
          vmid: container.vmid,
          force: true,
          purge: true,
          ownershipTag: ownershipTag(job.containerId),
        },
        { timeoutMs: 30 * 60_000 },
      )
      .catch(async (err: unknown) => {
        throw await movedUnder(job, deps, { ...sought, node }, err, requestIdBase);
      });
    // "Already gone" from one node proves nothing in a cluster: it may have moved meanwhile.
    if (destroyed.alreadyGone) await requireAbsent(job, deps, { ...sought, node });
    return { result: null, commit: (tx, now) => finishDeletion(tx, container.id, now) };
  }
  throw new Error(`unknown job kind '${job.kind}'`);
}

/** A create or apply: the pipeline, its steps recorded on the operation as they run. */
async function converge(
  job: ClaimedJob,
  deps: JobDeps,
  node: string,
  sought: Sought,
  spec: ResolvedSpec,
  requestIdBase: string,
): Promise<Outcome> {
  const vmid = sought.vmid;
  const agent = await deps.agents.forNode(node);
  let failedStep = "";
  const result = await runPipeline(
    {
      agent,
      vmid,
      spec,
      ownershipTag: ownershipTag(job.containerId),
      requestIdBase,
      keepLast: effectiveRetention(spec, deps.snapshotKeepLast).keep_last,
      history: await deps.jobs.steps(job.id),
      attempt: job.attempts,
      clock: deps.clock,
    },
    async (record, all) => {
      if (record.status === "failed") failedStep = record.name;
      // Another dispatcher took the job over; it carries on with the same request IDs.
      if (!(await deps.jobs.recordSteps(job, all)))
        throw new LockstepError("UNAVAILABLE", `job ${job.id} was taken over by another dispatcher`);
    },
  ).catch(async (err: unknown) => {
    if (failedStep === "create" && err instanceof LockstepError && err.code === "ALREADY_EXISTS") {
      // Proxmox refuses a VMID any node of the cluster holds: ours, moved meanwhile (an apply
      // that looked while HA relocated it, a create whose node was left), is not foreign.
      const where = await locate(deps, { ...sought, node });
      if (where.kind === "moved") await followIfMoved(job, deps, { ...sought, node }, where);
      if (where.kind === "moved" || where.kind === "unknown")
        throw new LockstepError(
          "UNAVAILABLE",
          `CT ${vmid} exists in the cluster; where this record's container is must be known first (${where.kind === "moved" ? `it moved to ${where.node}` : where.why})`,
        );
      // A create's VMID was taken by someone else: it gets another. An apply's container is gone
      // and another guest holds its VMID: that is for the operator, not for a new VMID.
      if (job.kind === "create") throw new ForeignVmidError(vmid, err.message);
    }
    throw err;
  });
  return { result: { changed_steps: result.changed }, commit: (tx, now) => markRunning(tx, job.containerId, now) };
}

async function locate(deps: JobDeps, sought: Sought): Promise<Whereabouts> {
  return locateContainer(deps.agents, await knownClusters(deps, sought.node), sought);
}

/**
 * The registered nodes' clusters, with the record's node and its fellow members asked now
 * when the API has not learnt theirs yet (no health check nor reconcile pass since they
 * were registered): a job must not wait for the monitor to know where to look.
 */
async function knownClusters(deps: JobDeps, node: string): Promise<ClusterMap> {
  let clusters = await loadClusterMap(deps.db);
  // Twice at most: the node's own answer names the members to ask in the second round.
  for (let round = 0; round < 2; round++) {
    const unknown = [node, ...(clusters.get(node)?.members ?? [])].filter(
      (n, i, all) => all.indexOf(n) === i && clusters.get(n)?.name === null,
    );
    if (unknown.length === 0) break;
    await Promise.all(
      unknown.map(async (name) => {
        const health = await (await deps.agents.forNode(name)).getHealth({}).catch(() => null);
        if (health)
          await deps.db.transaction((tx) =>
            recordNodeCluster(tx, name, health.clusterName, health.clusterMembers, new Date(deps.clock.now())),
          );
      }),
    );
    clusters = await loadClusterMap(deps.db);
  }
  return clusters;
}

/** The node the job acts on: the record's, or the one its container moved to (the record follows first). */
async function followIfMoved(job: ClaimedJob, deps: JobDeps, sought: Sought, where: Whereabouts): Promise<string> {
  if (where.kind !== "moved") return sought.node;
  const move = {
    containerId: sought.containerId,
    vmid: sought.vmid,
    from: sought.node,
    to: where.node,
    foundBy: `job ${job.id}`,
  };
  if (!(await followContainer(deps.db, move, deps.ports, new Date(deps.clock.now()))))
    throw new LockstepError(
      "UNAVAILABLE",
      `the record of CT ${sought.vmid} changed while its job followed it to ${where.node}`,
    );
  return where.node;
}

/** What a node answers when the container moved, is moving or was stopped under a job. */
const MOTION = new Set(["NOT_FOUND", "FAILED_PRECONDITION", "COMMAND_FAILED", "VERIFICATION_FAILED"]);

/**
 * A job's failure that may only mean its container moved (pct migrate, an HA relocation) or
 * was stopped while the job ran: the record follows it and the job runs again, on the right
 * node, rather than failing for good on the wrong one. It runs again too while the cluster
 * cannot say where the container is, while it is being migrated, and while it is stopped or
 * back where it was (an HA relocation shuts it down before moving it, PVE::HA::Resources PVECT
 * migrate; a create or apply starts it again first, its pipeline's start step being done). A
 * container absent from the whole cluster, or a failure on a running container that stayed
 * put, is returned as it was.
 */
async function movedUnder(
  job: ClaimedJob,
  deps: JobDeps,
  sought: Sought,
  err: unknown,
  requestIdBase: string,
): Promise<unknown> {
  if (!(err instanceof LockstepError) || !MOTION.has(err.code) || err instanceof ForeignVmidError) return err;
  const where = await locate(deps, sought).catch((locating: unknown) => ({
    kind: "unknown" as const,
    why: locating instanceof Error ? locating.message : String(locating),
  }));
  const again = (why: string): LockstepError =>
    new LockstepError("UNAVAILABLE", `${err.message}; ${why}; the job runs again`);
  if (where.kind === "unknown") return again(`whether CT ${sought.vmid} moved cannot be told now (${where.why})`);
  if (where.kind === "moved") {
    await followIfMoved(job, deps, sought, where);
    return again(
      `CT ${sought.vmid} moved to ${where.node} while this ${job.kind} ran on ${sought.node}; the record follows it`,
    );
  }
  if (where.kind === "here" && where.migrating) return again(`CT ${sought.vmid} is being migrated (lock: migrate)`);
  if (where.kind === "here" && !where.running && job.kind !== "delete") {
    // Its pipeline's start step is done and is not run again: the container is started here,
    // with a request ID of this attempt's own, so that the next attempt finds it running.
    const started = await restart(deps, sought, `${requestIdBase}-restarted-${job.attempts}`);
    return again(`CT ${sought.vmid} was stopped while this ${job.kind} ran (${started})`);
  }
  if (where.kind === "here" && err.code === "NOT_FOUND") return again(`CT ${sought.vmid} is on ${sought.node} again`);
  // Found stopped by a step, running again now (an HA relocation that ended where it began).
  if (where.kind === "here" && err.metadata.reason === DETAIL_REASON.notRunning)
    return again(`CT ${sought.vmid} is running again`);
  return err;
}

/** Starts the record's container on its node (an HA-managed one: asks the HA manager); says how it went. */
async function restart(deps: JobDeps, sought: Sought, requestId: string): Promise<string> {
  try {
    const agent = await deps.agents.forNode(sought.node);
    await agent.startContainer(
      { requestId, vmid: sought.vmid, ownershipTag: ownershipTag(sought.containerId) },
      { timeoutMs: 5 * 60_000 },
    );
    return "started again";
  } catch (err) {
    return `starting it again failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function requireNotInMaintenance(db: Database, node: string): Promise<void> {
  const found = await findNode(db, node);
  if (found?.maintenance) throw new NodeInMaintenanceError(node, found.maintenance.since, found.maintenance.reason);
}

/** A delete is done only when no node of the cluster holds the container; otherwise it runs again. */
async function requireAbsent(job: ClaimedJob, deps: JobDeps, sought: Sought): Promise<void> {
  const where = await locate(deps, sought);
  if (where.kind === "absent") return;
  if (where.kind === "moved") await followIfMoved(job, deps, sought, where);
  const why =
    where.kind === "moved"
      ? `it moved to ${where.node}; the delete follows it`
      : where.kind === "unknown"
        ? where.why
        : `it is on ${sought.node} again`;
  throw new LockstepError("UNAVAILABLE", `CT ${sought.vmid} is not proven gone from its cluster: ${why}`);
}

/**
 * A job on a container waits while an earlier create or apply of it is queued or running
 * (it is queued again): one container converges through one job at a time, in the order the
 * jobs were committed (`seq`, not the requests' own clocks).
 */
async function waitForEarlierJobs(db: Database, job: ClaimedJob): Promise<void> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT o.id, o.kind FROM operations o JOIN operations me ON me.id = ?
     WHERE o.container_id = ? AND o.kind IN ('create', 'apply') AND o.status IN ('queued', 'running') AND o.id <> me.id
       AND o.seq < me.seq LIMIT 1`,
    [job.id, job.containerId],
  );
  if (rows.length > 0)
    throw new WaitForEarlierJobError(
      `the ${rows[0]!.kind} of container ${job.containerId} is still running; this ${job.kind} waits for it`,
    );
}

/** The job must wait its turn: not a failed attempt, so it uses up none of its attempts. */
export class WaitForEarlierJobError extends LockstepError {
  constructor(message: string) {
    super("UNAVAILABLE", message);
  }
}

/** The VMID is held in the cluster by a guest (a container or a QEMU VM) that is not this record's: it is never adopted. */
export class ForeignVmidError extends LockstepError {
  constructor(
    readonly vmid: number,
    message: string,
  ) {
    super("ALREADY_EXISTS", message, { vmid: String(vmid) });
  }
}
