import { Type, type Static } from "@sinclair/typebox";

const PortName = Type.String({ pattern: "^[a-z][a-z0-9-]{0,30}$" });

/** `POST /v1/containers`: everything but node, hostname and template has a default. */
export const CreateContainerBody = Type.Object(
  {
    node: Type.String({ pattern: "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$" }),
    hostname: Type.String({ maxLength: 253, pattern: "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$" }),
    template: Type.String({ maxLength: 255, pattern: "^[a-zA-Z][a-zA-Z0-9_.-]*:vztmpl/[a-zA-Z0-9_.+-]+\\.tar\\.(gz|xz|zst)$" }),
    cores: Type.Integer({ minimum: 1, maximum: 512, default: 1 }),
    memory_mb: Type.Integer({ minimum: 16, maximum: 4_194_304, default: 512 }),
    swap_mb: Type.Integer({ minimum: 0, maximum: 4_194_304, default: 512 }),
    disk_gb: Type.Integer({ minimum: 1, maximum: 131_072, default: 8 }),
    storage: Type.String({ pattern: "^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$", default: "local-lvm" }),
    unprivileged: Type.Boolean({ default: true }),
    ports: Type.Union([Type.Integer({ minimum: 0, maximum: 32 }), Type.Array(PortName, { maxItems: 32, uniqueItems: true })], { default: 0 }),
  },
  { additionalProperties: false },
);
export type CreateContainerBody = Static<typeof CreateContainerBody>;

/** Port names for a body that gave a count: `port0`, `port1`, ... */
export function portNames(ports: CreateContainerBody["ports"]): string[] {
  return typeof ports === "number" ? Array.from({ length: ports }, (_, i) => `port${i}`) : ports;
}
