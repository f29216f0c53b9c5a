import { agentV1 } from "@lockstep/shared";
import type { HostStats } from "../health/host-stats.js";
import type { NodeProbe } from "../health/node-probe.js";

const m = agentV1;

/** How a message crosses the executor's socket: ts-proto's JSON mapping, typed on both ends. */
export interface WireCodec<T> {
  fromJSON(object: unknown): T;
  toJSON(message: T): unknown;
}

/**
 * The node probe (health/node-probe.ts) and the host's statistics are the executor's own
 * answers, not contract messages; the network process takes them as they come.
 */
function plain<T>(): WireCodec<T> {
  return { fromJSON: (object) => object as T, toJSON: (value) => value };
}
const NOTHING: WireCodec<Record<string, never>> = { fromJSON: () => ({}), toJSON: () => ({}) };

const read = <Req, Res>(request: WireCodec<Req>, response: WireCodec<Res>) =>
  ({ kind: "read", request, response }) as const;
const mutating = <Req extends { requestId: string; vmid: number }, Res>(
  request: WireCodec<Req>,
  response: WireCodec<Res>,
) => ({ kind: "mutating", request, response }) as const;

/**
 * Every operation the root executor performs: the allow-list. A name not here is refused, and
 * each request is decoded by its message's own codec, so what reaches the node is a typed
 * request (a VMID, a spec, a path), never a command line. Reads have no request ID; each
 * mutating operation has one, and its VMID serializes it (executor/local-executor.ts).
 * The agent's RPCs not here (GetHealth, GetOperation, WatchEvents) are the network process's
 * own, made of these and of what it holds.
 */
export const OPERATIONS = {
  ProbeNode: read(NOTHING, plain<NodeProbe>()),
  ReadHostStats: read(NOTHING, plain<HostStats>()),
  ListContainers: read(m.ListContainersRequest, m.ListContainersResponse),
  GetContainer: read(m.GetContainerRequest, m.GetContainerResponse),
  InspectLock: read(m.InspectLockRequest, m.LockReport),
  ListSnapshots: read(m.ListSnapshotsRequest, m.ListSnapshotsResponse),
  CreateContainer: mutating(m.CreateContainerRequest, m.CreateContainerResponse),
  CloneContainer: mutating(m.CloneContainerRequest, m.CreateContainerResponse),
  DestroyContainer: mutating(m.DestroyContainerRequest, m.DestroyContainerResponse),
  StartContainer: mutating(m.StartContainerRequest, m.ContainerStateResponse),
  StopContainer: mutating(m.StopContainerRequest, m.ContainerStateResponse),
  UpdateConfig: mutating(m.UpdateConfigRequest, m.UpdateConfigResponse),
  Exec: mutating(m.ExecRequest, m.ExecResponse),
  PushFile: mutating(m.PushFileRequest, m.PushFileResponse),
  EnsureService: mutating(m.EnsureServiceRequest, m.EnsureServiceResponse),
  CreateSnapshot: mutating(m.CreateSnapshotRequest, m.CreateSnapshotResponse),
  DeleteSnapshot: mutating(m.DeleteSnapshotRequest, m.DeleteSnapshotResponse),
  PruneSnapshots: mutating(m.PruneSnapshotsRequest, m.PruneSnapshotsResponse),
  ClearLock: mutating(m.ClearLockRequest, m.ClearLockResponse),
} as const;

type Catalog = typeof OPERATIONS;
export type OperationName = keyof Catalog;
export type ReadName = { [N in OperationName]: Catalog[N]["kind"] extends "read" ? N : never }[OperationName];
export type MutatingName = Exclude<OperationName, ReadName>;
export type RequestOf<N extends OperationName> = ReturnType<Catalog[N]["request"]["fromJSON"]>;
/** What an operation answers; a mutating RPC adds `replayed` (the network process's concern). */
export type ResultOf<N extends OperationName> = ReturnType<Catalog[N]["response"]["fromJSON"]>;

/** Narrows a name read off the socket to the allow-list. */
export function isOperationName(name: unknown): name is OperationName {
  return typeof name === "string" && Object.hasOwn(OPERATIONS, name);
}
