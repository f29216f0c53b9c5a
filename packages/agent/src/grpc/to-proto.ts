import { agentV1 } from "@lockstep/shared";
import type { ContainerView } from "../containers/container-reader.js";
import type { NodeEvent, NodeEventKind } from "../events/node-event.js";
import type { SnapshotView } from "../snapshots/list-snapshots.js";

const { ContainerStatus, EventKind } = agentV1;

/** A container as the contract carries it. */
export function containerToProto(view: ContainerView): agentV1.Container {
  return {
    vmid: view.vmid,
    name: view.name,
    status: view.status === "running" ? ContainerStatus.RUNNING : ContainerStatus.STOPPED,
    lock: view.lock,
    tags: view.tags,
    description: view.description,
    config: view.config,
  };
}

export function snapshotToProto(view: SnapshotView): agentV1.Snapshot {
  return { name: view.name, parent: view.parent, createdMs: view.createdMs, description: view.description };
}

export function statusToProto(status: "running" | "stopped"): agentV1.ContainerStatus {
  return status === "running" ? ContainerStatus.RUNNING : ContainerStatus.STOPPED;
}

const EVENT_KINDS: Record<NodeEventKind, agentV1.EventKind> = {
  "lock-detected": EventKind.LOCK_DETECTED,
  "lock-cleared": EventKind.LOCK_CLEARED,
  "lock-blocked": EventKind.LOCK_BLOCKED,
  "hypervisor-unresponsive": EventKind.HYPERVISOR_UNRESPONSIVE,
  "operation-interrupted": EventKind.OPERATION_INTERRUPTED,
  "policy-refused": EventKind.POLICY_REFUSED,
};

export function eventToProto(event: NodeEvent): agentV1.Event {
  return {
    atMs: event.atMs,
    node: event.node,
    vmid: event.vmid,
    kind: EVENT_KINDS[event.kind],
    detail: event.detail,
    requestId: event.requestId ?? "",
  };
}
