import { Type, type Static } from "@sinclair/typebox";
import { checkSpec, ContainerSpec, VMID_MAX, VMID_MIN, type ResolvedSpec } from "@lockstep/shared";
import { RequestValidationError } from "../errors.js";
import { Component, Nullable, OneOf, Timestamp, Uuid } from "../http/schema-types.js";
import type { ContainerStatus } from "../lifecycle/container-lifecycle.js";

const PortName = Type.String({ pattern: "^[a-z][a-z0-9-]{0,30}$" });

/** `POST /v1/containers`: where the container goes, the ports it gets, and its spec. */
export const CreateContainerBody = Type.Object(
  {
    node: Type.String({ pattern: "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$" }),
    ports: Type.Union(
      [Type.Integer({ minimum: 0, maximum: 32 }), Type.Array(PortName, { maxItems: 32, uniqueItems: true })],
      { default: 0 },
    ),
    spec: ContainerSpec,
  },
  { additionalProperties: false },
);
export type CreateContainerBody = Static<typeof CreateContainerBody>;

/** `POST /v1/containers/:id/apply`: a new spec, or none to converge to the stored one again. */
export const ApplyContainerBody = Type.Object({ spec: Type.Optional(ContainerSpec) }, { additionalProperties: false });

/** Port names for a body that gave a count: `port0`, `port1`, ... */
export function portNames(ports: CreateContainerBody["ports"]): string[] {
  return typeof ports === "number" ? Array.from({ length: ports }, (_, i) => `port${i}`) : ports;
}

/** The spec of a body, checked beyond its schema; problems point into the body. */
export function requireSpec(raw: unknown): ResolvedSpec {
  const checked = checkSpec(raw);
  if (!checked.ok)
    throw new RequestValidationError(checked.problems.map((p) => ({ pointer: `/spec${p.pointer}`, reason: p.reason })));
  return checked.spec;
}

const CONTAINER_STATUSES: readonly ContainerStatus[] = [
  "pending",
  "provisioning",
  "running",
  "failed",
  "deleting",
  "deleted",
];

/** A container record as the database holds it. */
export const ContainerRecord = Type.Object(
  {
    id: Uuid,
    vmid: Type.Integer({ minimum: VMID_MIN, maximum: VMID_MAX }),
    node: Type.String({ description: "the node its container is on; follows a container Proxmox moved" }),
    hostname: Type.String(),
    status: OneOf(CONTAINER_STATUSES, {
      description: "pending → provisioning → running (or failed) → deleting → deleted",
    }),
    desired_state: OneOf(["running", "deleted"]),
    observed_state: Nullable(Type.String({ description: "what the node last showed: running, stopped, absent" })),
    ports: Type.Record(Type.String(), Type.Integer({ minimum: 1, maximum: 65535 }), {
      description: "port name → the port allocated on the node",
    }),
    operation_id: Nullable(Uuid),
    token_id: Nullable(
      Type.String({ description: "the API token that created it: its quota counts it, its policy judges it" }),
    ),
    spec: Component("ContainerSpec"),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { additionalProperties: false },
);

/** A container record as the container routes show it: with the snapshot retention in force. */
export const ContainerView = Type.Composite(
  [
    ContainerRecord,
    Type.Object({
      snapshot_retention: Type.Object(
        { keep_last: Type.Integer({ minimum: 0 }), source: OneOf(["container", "global"]) },
        { additionalProperties: false },
      ),
      policy: Type.Object(
        {
          compliant: Type.Boolean({
            description: "false when its spec exceeds its token's policy as it is now (a policy narrowed since)",
          }),
          violations: Type.Array(
            Type.Object(
              { rule: Type.String(), pointer: Type.String(), reason: Type.String() },
              { additionalProperties: false },
            ),
            { description: "each rule its spec breaks: reported, never changed by Lockstep" },
          ),
        },
        { additionalProperties: false },
      ),
    }),
  ],
  { additionalProperties: false },
);

export const ContainerList = Type.Object(
  { containers: Type.Array(Component("Container")) },
  { additionalProperties: false },
);

/** The answer to a create, apply or delete: the record and the operation that was queued for it. */
export const ContainerWithOperation = Type.Composite(
  [ContainerView, Type.Object({ operation: Component("Operation") })],
  { additionalProperties: false },
);
