import { Type } from "@sinclair/typebox";
import type { StepStatus } from "@lockstep/shared";
import { Nullable, OneOf, Timestamp, Uuid } from "../http/schema-types.js";
import type { OperationKind, OperationStatus } from "../lifecycle/operation-lifecycle.js";

const OPERATION_KINDS: readonly OperationKind[] = ["create", "apply", "delete"];
const OPERATION_STATUSES: readonly OperationStatus[] = ["queued", "running", "succeeded", "failed", "cancelled"];
const STEP_STATUSES: readonly StepStatus[] = ["running", "skipped", "succeeded", "failed"];

const OperationError = Type.Object(
  { code: Type.String({ description: "a Lockstep reason code" }), message: Type.String() },
  { additionalProperties: false },
);

/** One pipeline step of an operation: the latest attempt's record. */
const Step = Type.Object(
  {
    name: Type.String({
      description:
        "create, configure, feature:<name>, file:<path>, service:<unit>, script, health:<name>, snapshot, prune, ready, ...",
    }),
    status: OneOf(STEP_STATUSES, { description: "skipped: its check found the work already done" }),
    changed: Type.Boolean({
      description: "it changed something on the node, in this attempt or an earlier one of the same job",
    }),
    changed_attempt: Nullable(Type.Integer({ minimum: 1 })),
    detail: Type.String(),
    attempt: Type.Integer({ minimum: 1 }),
    started_at: Timestamp,
    finished_at: Nullable(Timestamp),
    duration_ms: Nullable(Type.Integer({ minimum: 0 })),
    error: Nullable(OperationError),
  },
  { additionalProperties: false },
);

/** A job of a container: a create, an apply or a delete, with its steps. */
export const Operation = Type.Object(
  {
    id: Uuid,
    container_id: Nullable(Uuid),
    node: Nullable(Type.String()),
    kind: OneOf(OPERATION_KINDS),
    status: OneOf(OPERATION_STATUSES),
    attempts: Type.Integer({ minimum: 0 }),
    steps: Type.Array(Step),
    result: Nullable(
      Type.Object(
        { changed_steps: Type.Array(Type.String()) },
        { description: "a create's or apply's steps that changed something" },
      ),
    ),
    error: Nullable(OperationError),
    created_at: Timestamp,
    updated_at: Timestamp,
    finished_at: Nullable(Timestamp),
  },
  { additionalProperties: false },
);
