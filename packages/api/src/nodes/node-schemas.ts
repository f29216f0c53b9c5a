import { Type, type Static } from "@sinclair/typebox";
import { agentV1 } from "@lockstep/shared";
import { Component, Nullable, OneOf, ProtoJson, protoEnumNames, Timestamp } from "../http/schema-types.js";

/** `POST /v1/nodes`: register a node's agent. */
export const RegisterNodeBody = Type.Object(
  {
    name: Type.String({ pattern: "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$", description: "Proxmox node name" }),
    address: Type.String({
      pattern: "^(\\[[0-9a-fA-F:]+\\]|[a-zA-Z0-9.-]{1,253}):[0-9]{1,5}$",
      maxLength: 300,
      description: "the agent's gRPC host:port",
    }),
    credentials_ref: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        pattern: "^[a-zA-Z0-9_./:-]+$",
        description: "where the agent's client credentials are kept (never the secret itself)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type RegisterNodeBody = Static<typeof RegisterNodeBody>;

/** `POST /v1/nodes/{name}/maintenance`: why, for whoever finds the node in maintenance. The body may be left out. */
export const EnterMaintenanceBody = Type.Object(
  {
    reason: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        pattern: "^[^\\u0000-\\u001f\\u007f]*$",
        description: "why the node is in maintenance (shown in GET /v1/nodes and the incident log)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type EnterMaintenanceBody = Static<typeof EnterMaintenanceBody>;

/** A registered node as every route shows it. */
export const Node = Type.Object(
  {
    name: Type.String(),
    address: Type.String(),
    credentials_ref: Nullable(Type.String()),
    cluster: Nullable(
      Type.String({ description: "the Proxmox cluster its agent reports: '' a node of its own, null not known yet" }),
    ),
    cluster_members: Type.Array(Type.String()),
    health_state: OneOf(["unknown", "healthy", "unresponsive", "unreachable"]),
    last_seen_at: Nullable(Timestamp),
    maintenance: Nullable(
      Type.Object(
        {
          since: Timestamp,
          reason: Nullable(Type.String()),
          entered_by: Nullable(
            Type.String({ description: "the name of the API token that put the node into maintenance" }),
          ),
          jobs_running: Type.Integer({
            minimum: 0,
            description: "jobs still finishing on the node: wait for 0 before working on it",
          }),
          jobs_waiting: Type.Integer({ minimum: 0, description: "jobs that start when the node leaves maintenance" }),
        },
        { additionalProperties: false, description: "null while the node takes work" },
      ),
    ),
    created_at: Timestamp,
  },
  { additionalProperties: false },
);

export const NodeList = Type.Object({ nodes: Type.Array(Component("Node")) }, { additionalProperties: false });

const Integer = Type.Integer();

/** `GET /v1/nodes/{name}/health`: the agent's GetHealthResponse. */
export const NodeHealth = ProtoJson(
  {
    node: Type.String(),
    agentVersion: Type.String(),
    pctResponsive: Type.Boolean(),
    pctDetail: Type.String(),
    cpuPercent: Type.Number(),
    load1m: Type.Number(),
    load5m: Type.Number(),
    load15m: Type.Number(),
    memoryTotalBytes: Integer,
    memoryAvailableBytes: Integer,
    disks: Type.Array(
      ProtoJson({ mount: Type.String(), totalBytes: Integer, usedBytes: Integer }, "a mounted file system"),
    ),
    uptimeSeconds: Integer,
    checkedAtMs: Integer,
    clusterFsState: OneOf(protoEnumNames(agentV1.ClusterFsState, agentV1.clusterFsStateToJSON)),
    clusterFsDetail: Type.String(),
    clusterName: Type.String(),
    clusterMembers: Type.Array(Type.String()),
  },
  "the agent's GetHealthResponse in protobuf's JSON mapping",
);

/** `GET /v1/nodes/{name}/locks/{vmid}`: the agent's LockReport. */
export const LockReport = ProtoJson(
  {
    node: Type.String(),
    vmid: Integer,
    path: Type.String(),
    fileExists: Type.Boolean(),
    kernelLocked: Type.Boolean(),
    recordedPid: Integer,
    recordedPidAlive: Type.Boolean(),
    holders: Type.Array(
      ProtoJson(
        { pid: Integer, cmdline: Type.String(), startedMs: Integer, state: Type.String() },
        "a process sharing the flock",
      ),
    ),
    configLock: Type.String(),
    activeTasks: Type.Array(
      ProtoJson(
        {
          upid: Type.String(),
          type: Type.String(),
          pid: Integer,
          startedMs: Integer,
          user: Type.String(),
          id: Type.String(),
        },
        "a live Proxmox task",
      ),
    ),
    verdict: OneOf(protoEnumNames(agentV1.LockVerdict, agentV1.lockVerdictToJSON)),
    inspectedAtMs: Integer,
    ownerKind: OneOf(protoEnumNames(agentV1.LockOwnerKind, agentV1.lockOwnerKindToJSON)),
    owner: Type.String(),
    unownedSinceMs: Integer,
    otherKernelLocks: Type.Array(
      ProtoJson(
        { kind: Type.String(), mode: Type.String(), pid: Integer },
        "a POSIX or OFD lock on the file, which pct does not wait for",
      ),
    ),
    migrationLock: ProtoJson(
      { path: Type.String(), locked: Type.Boolean(), pid: Integer, cmdline: Type.String() },
      "the guest migration lock",
    ),
  },
  "the agent's LockReport in protobuf's JSON mapping",
);
