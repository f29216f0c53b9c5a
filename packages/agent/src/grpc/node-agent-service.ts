import type { ServerWritableStream } from "@grpc/grpc-js";
import { agentV1, reasonEnum } from "@lockstep/shared";
import { cloneContainer } from "../containers/clone-container.js";
import { getContainer, listContainers } from "../containers/container-reader.js";
import { createContainer } from "../containers/create-container.js";
import { destroyContainer } from "../containers/destroy-container.js";
import { setPower } from "../containers/power.js";
import { requireOwned } from "../containers/require-owned.js";
import { updateConfig } from "../containers/update-config.js";
import { NotFoundError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { NodeEvent } from "../events/node-event.js";
import { execInContainer } from "../exec/exec-in-container.js";
import type { ClusterFsState } from "../node/cluster-fs.js";
import { listClusterContainers, listClusterVms } from "../node/cluster-vms.js";
import { readClusterMembership } from "../node/cluster-membership.js";
import { ensureService } from "../files/ensure-service.js";
import { verifiedPush } from "../files/verified-push.js";
import type { HostStatsSource } from "../health/host-stats.js";
import { readNodeHealth } from "../health/node-health.js";
import type { NodeProbe } from "../health/node-probe.js";
import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import { listSnapshots } from "../snapshots/list-snapshots.js";
import { pruneSnapshots } from "../snapshots/prune-snapshots.js";
import { createSnapshot, deleteSnapshot } from "../snapshots/snapshot-commands.js";
import { eventToProto, containerToProto, snapshotToProto, statusToProto } from "./to-proto.js";
import type { LockService, OperationLookup } from "./ports.js";
import { mutating, readOnly, type MutatingDeps } from "./unary.js";

const m = agentV1;

const CLUSTER_FS_STATES: Record<ClusterFsState, agentV1.ClusterFsState> = {
  ok: agentV1.ClusterFsState.OK,
  unresponsive: agentV1.ClusterFsState.UNRESPONSIVE,
  "not-mounted": agentV1.ClusterFsState.NOT_MOUNTED,
  "no-quorum": agentV1.ClusterFsState.NO_QUORUM,
};

export interface ServiceDeps extends MutatingDeps {
  readonly ctx: NodeContext;
  readonly events: EventBus;
  readonly locks: LockService;
  readonly operations: OperationLookup;
  readonly hostStats: HostStatsSource;
  readonly agentVersion: string;
  /** The node's probe, whose answer also sets the health service's status (health/serving-monitor.ts). */
  readonly probe: () => Promise<NodeProbe>;
}

/** The NodeAgent service: each RPC maps to one operation on the node. */
export function createNodeAgentService(deps: ServiceDeps): agentV1.NodeAgentServer {
  const { ctx } = deps;
  return {
    getHealth: readOnly("GetHealth", deps, async () => {
      const h = await readNodeHealth(ctx, deps.hostStats, deps.agentVersion, deps.probe);
      return m.GetHealthResponse.fromPartial({
        node: h.node,
        agentVersion: h.agentVersion,
        pctResponsive: h.pctResponsive,
        pctDetail: h.pctDetail,
        cpuPercent: h.cpuPercent,
        load1m: h.load[0],
        load5m: h.load[1],
        load15m: h.load[2],
        memoryTotalBytes: h.memoryTotalBytes,
        memoryAvailableBytes: h.memoryAvailableBytes,
        disks: h.disks.map((d) => ({ mount: d.mount, totalBytes: d.totalBytes, usedBytes: d.usedBytes })),
        uptimeSeconds: h.uptimeSeconds,
        checkedAtMs: h.checkedAtMs,
        clusterFsState: CLUSTER_FS_STATES[h.clusterFsState],
        clusterFsDetail: h.clusterFsDetail,
        clusterName: h.cluster?.name ?? "",
        clusterMembers: h.cluster ? [...h.cluster.members] : [],
      });
    }),
    listContainers: readOnly("ListContainers", deps, async (req: agentV1.ListContainersRequest) => {
      const cluster = await readClusterMembership(ctx.clusterFs, ctx.paths.pveDir, ctx.node);
      return {
        containers: (await listContainers(ctx, req.includeConfig)).map(containerToProto),
        vms: await listClusterVms(ctx.paths, ctx.clusterFs),
        clusterContainers: await listClusterContainers(ctx.paths, ctx.clusterFs),
        clusterName: cluster.name,
        clusterMembers: [...cluster.members],
      };
    }),
    getContainer: readOnly("GetContainer", deps, async (req: agentV1.GetContainerRequest) => ({
      container: containerToProto(await getContainer(ctx, requireVmid(req.vmid))),
      snapshots: (await listSnapshots(ctx, req.vmid)).map(snapshotToProto),
    })),
    inspectLock: readOnly("InspectLock", deps, (req: agentV1.InspectLockRequest) =>
      deps.locks.inspect(requireVmid(req.vmid)),
    ),
    listSnapshots: readOnly("ListSnapshots", deps, async (req: agentV1.ListSnapshotsRequest) => ({
      snapshots: (await listSnapshots(ctx, req.vmid)).map(snapshotToProto),
    })),
    getOperation: readOnly("GetOperation", deps, async (req: agentV1.GetOperationRequest) => {
      const record = deps.operations.get(req.requestId);
      if (!record) throw new NotFoundError(`no record of request '${req.requestId}' (never seen, or expired)`);
      return record;
    }),
    watchEvents: (call: ServerWritableStream<agentV1.WatchEventsRequest, agentV1.Event>) => {
      const wanted = new Set(call.request.vmids);
      const send = (event: NodeEvent): void => {
        if (wanted.size === 0 || wanted.has(event.vmid)) call.write(eventToProto(event));
      };
      // Subscribe before replaying: an event published in between may come twice, never not at all.
      const unsubscribe = deps.events.subscribe(send);
      if (call.request.sinceMs > 0) deps.events.recent(call.request.sinceMs).forEach(send);
      call.on("cancelled", unsubscribe);
      call.on("close", unsubscribe);
      call.on("error", unsubscribe);
    },

    createContainer: mutating(
      "CreateContainer",
      deps,
      m.CreateContainerResponse,
      async (req: agentV1.CreateContainerRequest, op) => {
        const outcome = await createContainer(ctx, { ...req }, req.ownershipTag, op);
        return {
          replayed: false,
          container: containerToProto(outcome.container),
          alreadyExisted: outcome.alreadyExisted,
        };
      },
    ),
    cloneContainer: mutating(
      "CloneContainer",
      deps,
      m.CreateContainerResponse,
      async (req: agentV1.CloneContainerRequest, op) => {
        const outcome = await cloneContainer(ctx, { ...req }, req.ownershipTag, op);
        return {
          replayed: false,
          container: containerToProto(outcome.container),
          alreadyExisted: outcome.alreadyExisted,
        };
      },
    ),
    destroyContainer: mutating(
      "DestroyContainer",
      deps,
      m.DestroyContainerResponse,
      async (req: agentV1.DestroyContainerRequest, op) => ({
        replayed: false,
        ...(await destroyContainer(ctx, req.vmid, { force: req.force, purge: req.purge }, op, req.ownershipTag)),
      }),
    ),
    startContainer: mutating(
      "StartContainer",
      deps,
      m.ContainerStateResponse,
      async (req: agentV1.StartContainerRequest, op) => {
        const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "start it");
        const { status, changed } = await setPower(ctx, req.vmid, "running", op, owner);
        return { replayed: false, status: statusToProto(status), changed };
      },
    ),
    stopContainer: mutating(
      "StopContainer",
      deps,
      m.ContainerStateResponse,
      async (req: agentV1.StopContainerRequest, op) => {
        const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "stop it");
        const { status, changed } = await setPower(ctx, req.vmid, "stopped", op, owner);
        return { replayed: false, status: statusToProto(status), changed };
      },
    ),
    updateConfig: mutating(
      "UpdateConfig",
      deps,
      m.UpdateConfigResponse,
      async (req: agentV1.UpdateConfigRequest, op) => {
        const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "change its config");
        return {
          replayed: false,
          ...(await updateConfig(ctx, req.vmid, { set: req.set, remove: req.delete, lxc: req.lxc }, op, owner)),
        };
      },
    ),
    exec: mutating("Exec", deps, m.ExecResponse, async (req: agentV1.ExecRequest, op) => {
      await requireOwned(ctx, req.vmid, req.ownershipTag, "run a command in it");
      const out = await execInContainer(ctx, req.vmid, req.argv, {
        timeoutMs: req.timeoutMs,
        stdin: Buffer.from(req.stdin),
        op,
      });
      return {
        replayed: false,
        exitCode: out.exitCode,
        stdout: Buffer.from(out.stdout),
        stderr: Buffer.from(out.stderr),
        stdoutTruncated: out.stdoutTruncated,
        stderrTruncated: out.stderrTruncated,
        durationMs: out.durationMs,
      };
    }),
    pushFile: mutating("PushFile", deps, m.PushFileResponse, async (req: agentV1.PushFileRequest, op) => {
      const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "push a file into it");
      return {
        replayed: false,
        ...(await verifiedPush(
          ctx,
          {
            vmid: req.vmid,
            path: req.path,
            content: Buffer.from(req.content),
            mode: req.mode,
            user: req.user,
            group: req.group,
          },
          op,
          owner,
        )),
      };
    }),
    ensureService: mutating(
      "EnsureService",
      deps,
      m.EnsureServiceResponse,
      async (req: agentV1.EnsureServiceRequest, op) => {
        const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "install a service in it");
        return {
          replayed: false,
          ...(await ensureService(
            ctx,
            {
              vmid: req.vmid,
              unit: req.unit,
              content: Buffer.from(req.unitContent),
              enable: req.enable,
              start: req.start,
            },
            op,
            owner,
          )),
        };
      },
    ),
    createSnapshot: mutating(
      "CreateSnapshot",
      deps,
      m.CreateSnapshotResponse,
      async (req: agentV1.CreateSnapshotRequest, op) => {
        const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "snapshot it");
        return {
          replayed: false,
          snapshot: snapshotToProto(await createSnapshot(ctx, req.vmid, req.name, req.description, op, owner)),
        };
      },
    ),
    deleteSnapshot: mutating(
      "DeleteSnapshot",
      deps,
      m.DeleteSnapshotResponse,
      async (req: agentV1.DeleteSnapshotRequest, op) => {
        const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "delete its snapshot");
        return { replayed: false, ...(await deleteSnapshot(ctx, req.vmid, req.name, req.force, op, owner)) };
      },
    ),
    pruneSnapshots: mutating(
      "PruneSnapshots",
      deps,
      m.PruneSnapshotsResponse,
      async (req: agentV1.PruneSnapshotsRequest, op) => {
        const owner = await requireOwned(ctx, req.vmid, req.ownershipTag, "prune its snapshots");
        const out = await pruneSnapshots(ctx, req.vmid, req.keepLast, req.prefix, op, owner);
        return {
          replayed: false,
          deleted: out.deleted,
          kept: out.kept,
          staleLockCleared: out.staleLockCleared,
          failed: out.failed.map((f) => ({
            name: f.name,
            reason: reasonEnum(f.code as Parameters<typeof reasonEnum>[0]),
            message: f.message,
          })),
        };
      },
    ),
    clearLock: mutating("ClearLock", deps, m.ClearLockResponse, async (req: agentV1.ClearLockRequest, op) => ({
      replayed: false,
      ...(await deps.locks.clear(requireVmid(req.vmid), req.removeFile, op)),
    })),
  };
}
