import { Type, type Static } from "@sinclair/typebox";
import { checkSpec, ContainerSpec, type ResolvedSpec } from "@lockstep/shared";
import { RequestValidationError } from "../errors.js";

const PortName = Type.String({ pattern: "^[a-z][a-z0-9-]{0,30}$" });

/** `POST /v1/containers`: where the container goes, the ports it gets, and its spec. */
export const CreateContainerBody = Type.Object(
  {
    node: Type.String({ pattern: "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$" }),
    ports: Type.Union([Type.Integer({ minimum: 0, maximum: 32 }), Type.Array(PortName, { maxItems: 32, uniqueItems: true })], { default: 0 }),
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
  if (!checked.ok) throw new RequestValidationError(checked.problems.map((p) => ({ pointer: `/spec${p.pointer}`, reason: p.reason })));
  return checked.spec;
}
