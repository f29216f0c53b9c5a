import type { Context } from "hono";
import { VMID_MAX, VMID_MIN, vmidProblem } from "@lockstep/shared";
import { RequestValidationError } from "../errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/**
 * Path parameters by name, each checked against its rule before any lookup: a malformed
 * one is a 400 that names it, never a query with whatever the path held.
 */
const RULES = {
  id: (v: string) => (UUID.test(v) ? null : "must be a lowercase UUID"),
  name: (v: string) =>
    NODE_NAME.test(v) ? null : "must be a node name: letters, digits and inner hyphens, at most 63",
  vmid: (v: string) => (/^\d{1,10}$/.test(v) ? vmidProblem(Number(v)) : "must be an integer"),
} as const;

/** The same rules as OpenAPI parameters. */
export const PATH_PARAMETERS = {
  id: { name: "id", in: "path", required: true, schema: { type: "string", pattern: UUID.source } },
  name: { name: "name", in: "path", required: true, schema: { type: "string", pattern: NODE_NAME.source } },
  vmid: { name: "vmid", in: "path", required: true, schema: { type: "integer", minimum: VMID_MIN, maximum: VMID_MAX } },
} as const;

export function pathParam(c: Context, name: "id" | "name"): string;
export function pathParam(c: Context, name: "vmid"): number;
export function pathParam(c: Context, name: keyof typeof RULES): string | number {
  const value = c.req.param(name) ?? "";
  const problem = RULES[name](value);
  if (problem) throw new RequestValidationError([{ pointer: `/path/${name}`, reason: problem }]);
  return name === "vmid" ? Number(value) : value;
}
