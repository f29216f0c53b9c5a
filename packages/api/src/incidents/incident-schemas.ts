import { Type } from "@sinclair/typebox";
import { Nullable, OneOf, Timestamp, Uuid } from "../http/schema-types.js";
import type { Severity } from "./incident-log.js";

const SEVERITIES: readonly Severity[] = ["info", "warning", "critical"];

/** `GET /v1/incidents`: the log, newest first. */
export const IncidentList = Type.Object(
  {
    incidents: Type.Array(
      Type.Object(
        {
          id: Type.Integer({ minimum: 1 }),
          at: Timestamp,
          node: Nullable(Type.String()),
          vmid: Nullable(Type.Integer()),
          kind: Type.String({
            description: "lock-blocked, drift-missing, operation-interrupted, ... (docs/operations.md)",
          }),
          severity: OneOf(SEVERITIES),
          container_id: Nullable(Uuid),
          operation_id: Nullable(Uuid),
          detail: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
