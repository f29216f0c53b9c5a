import { Type } from "@sinclair/typebox";
import { Component, Nullable, OneOf, Timestamp, Uuid } from "../http/schema-types.js";
import type { DriftKind } from "./classify-drift.js";

export const DRIFT_KINDS: readonly DriftKind[] = [
  "missing",
  "orphan",
  "foreign",
  "state-mismatch",
  "duplicate",
  "stale-lock",
  "unreachable",
  "policy",
];

/** `POST /v1/reconcile`: one report per registered node. */
export const ReconcileReport = Type.Object(
  {
    nodes: Type.Array(
      Type.Object(
        {
          node: Type.String(),
          reachable: Type.Boolean(),
          skipped: Type.Boolean({
            description: "another API process was reconciling this node: this pass left it alone",
          }),
          containers: Type.Integer({ minimum: 0 }),
          findings: Type.Integer({ minimum: 0 }),
          opened: Type.Integer({ minimum: 0 }),
          repairs: Type.Array(
            Type.Object(
              { kind: Type.String(), vmid: Nullable(Type.Integer()), action: Type.String() },
              { additionalProperties: false },
            ),
          ),
          maintenance: Type.Boolean({ description: "repairs were withheld: the node is in maintenance" }),
          error: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** `GET /v1/drift`: the open differences between records and nodes. */
export const DriftList = Type.Object(
  {
    findings: Type.Array(
      Type.Object(
        {
          id: Type.Integer({ minimum: 1 }),
          kind: OneOf(DRIFT_KINDS),
          node: Type.String(),
          vmid: Nullable(Type.Integer()),
          container_id: Nullable(Uuid),
          detail: Type.String(),
          since: Timestamp,
          last_seen_at: Timestamp,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** `GET /v1/nodes/{name}/containers/{vmid}`: one VMID's record, the node's truth and the verdict. */
export const Comparison = Type.Object(
  {
    node: Type.String(),
    vmid: Type.Integer(),
    record: Nullable(Component("ContainerRecord")),
    on_node: Nullable(
      Type.Object(
        {
          status: OneOf(["running", "stopped"]),
          lock: Type.String(),
          tags: Type.Array(Type.String()),
          marked_record: Nullable(Uuid),
          lock_verdict: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
    verdict: Type.Object(
      {
        in_sync: Type.Boolean(),
        findings: Type.Array(
          Type.Object(
            { kind: OneOf(DRIFT_KINDS), vmid: Type.Integer(), containerId: Nullable(Uuid), detail: Type.String() },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
