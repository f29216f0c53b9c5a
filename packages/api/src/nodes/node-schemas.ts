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
