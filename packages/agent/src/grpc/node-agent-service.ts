import type { handleUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import { agentV1, type Clock } from "@lockstep/shared";
import { NotFoundError } from "../errors.js";
import type { EventBus } from "../events/event-bus.js";
import type { NodeEvent } from "../events/node-event.js";
import type { Executor } from "../executor/executor.js";
import { OPERATIONS, type MutatingName, type RequestOf, type ResultOf } from "../executor/operation-catalog.js";
import type { ClusterFsState } from "../node/cluster-fs.js";
import type { HostStatsSource } from "../health/host-stats.js";
import { readNodeHealth } from "../health/node-health.js";
import type { NodeProbe } from "../health/node-probe.js";
import { eventToProto } from "./to-proto.js";
import type { OperationLookup } from "./ports.js";
import { mutating, readOnly, type JsonCodec, type MutatingDeps } from "./unary.js";

const m = agentV1;

const CLUSTER_FS_STATES: Record<ClusterFsState, agentV1.ClusterFsState> = {
  ok: agentV1.ClusterFsState.OK,
  unresponsive: agentV1.ClusterFsState.UNRESPONSIVE,
  "not-mounted": agentV1.ClusterFsState.NOT_MOUNTED,
  "no-quorum": agentV1.ClusterFsState.NO_QUORUM,
};

export interface ServiceDeps extends MutatingDeps {
  readonly node: string;
  readonly clock: Clock;
  /** The node: every RPC but GetHealth's assembly, GetOperation and WatchEvents is one of its operations. */
  readonly executor: Executor;
  readonly events: EventBus;
  readonly operations: OperationLookup;
  readonly hostStats: HostStatsSource;
  readonly agentVersion: string;
  /** The node's probe, whose answer also sets the health service's status (health/serving-monitor.ts). */
  readonly probe: () => Promise<NodeProbe>;
}

/**
 * The NodeAgent service: each RPC is one allow-listed operation of the executor
 * (executor/operation-catalog.ts), deduplicated here when it changes the node.
 */
export function createNodeAgentService(deps: ServiceDeps): agentV1.NodeAgentServer {
  const { executor } = deps;
  const change = <N extends MutatingName>(name: N): handleUnaryCall<RequestOf<N>, ResultOf<N>> =>
    mutating(name, deps, OPERATIONS[name].response as JsonCodec<ResultOf<N>>, (request, caller) =>
      executor.mutate(name, request, caller),
    );
  return {
    getHealth: readOnly("GetHealth", deps, async () => {
      const h = await readNodeHealth(deps, deps.hostStats, deps.agentVersion, deps.probe);
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
    listContainers: readOnly("ListContainers", deps, (req: agentV1.ListContainersRequest) =>
      executor.read("ListContainers", req),
    ),
    getContainer: readOnly("GetContainer", deps, (req: agentV1.GetContainerRequest) =>
      executor.read("GetContainer", req),
    ),
    inspectLock: readOnly("InspectLock", deps, (req: agentV1.InspectLockRequest) => executor.read("InspectLock", req)),
    listSnapshots: readOnly("ListSnapshots", deps, (req: agentV1.ListSnapshotsRequest) =>
      executor.read("ListSnapshots", req),
    ),
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
    createContainer: change("CreateContainer"),
    cloneContainer: change("CloneContainer"),
    destroyContainer: change("DestroyContainer"),
    startContainer: change("StartContainer"),
    stopContainer: change("StopContainer"),
    updateConfig: change("UpdateConfig"),
    exec: change("Exec"),
    pushFile: change("PushFile"),
    ensureService: change("EnsureService"),
    createSnapshot: change("CreateSnapshot"),
    deleteSnapshot: change("DeleteSnapshot"),
    pruneSnapshots: change("PruneSnapshots"),
    clearLock: change("ClearLock"),
  };
}
