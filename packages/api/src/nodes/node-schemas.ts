import { Type, type Static } from "@sinclair/typebox";

/** `POST /v1/nodes`: register a node's agent. */
export const RegisterNodeBody = Type.Object(
  {
    name: Type.String({ pattern: "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$", description: "Proxmox node name" }),
    address: Type.String({ pattern: "^(\\[[0-9a-fA-F:]+\\]|[a-zA-Z0-9.-]{1,253}):[0-9]{1,5}$", maxLength: 300, description: "the agent's gRPC host:port" }),
    credentials_ref: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: "^[a-zA-Z0-9_./:-]+$", description: "where the agent's client credentials are kept (never the secret itself)" })),
  },
  { additionalProperties: false },
);
export type RegisterNodeBody = Static<typeof RegisterNodeBody>;

/** `POST /v1/nodes/{name}/maintenance`: why, for whoever finds the node in maintenance. The body may be left out. */
export const EnterMaintenanceBody = Type.Object(
  {
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, pattern: "^[^\\u0000-\\u001f\\u007f]*$", description: "why the node is in maintenance (shown in GET /v1/nodes and the incident log)" })),
  },
  { additionalProperties: false },
);
export type EnterMaintenanceBody = Static<typeof EnterMaintenanceBody>;
