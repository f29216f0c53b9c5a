import type { Context } from "hono";
import type { Static, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { RequestValidationError } from "../errors.js";

const MAX_PROBLEMS = 20;
// Far deeper than any spec, far shallower than what exhausts the validator's recursion.
const MAX_DEPTH = 32;

/**
 * Parses and validates a JSON body against its schema (the same schema that describes the
 * route), applying declared defaults. Every problem is reported with its JSON pointer. With
 * `emptyIsObject`, a body with no fields may also be left out.
 */
export async function validateBody<S extends TSchema>(c: Context, schema: S, options: { emptyIsObject?: boolean } = {}): Promise<Static<S>> {
  let raw: unknown;
  try {
    const text = await c.req.text();
    raw = text === "" && options.emptyIsObject ? {} : JSON.parse(text);
  } catch {
    throw new RequestValidationError([{ pointer: "", reason: "must be a JSON document" }]);
  }
  if (depthExceeds(raw, MAX_DEPTH)) throw new RequestValidationError([{ pointer: "", reason: `must not nest more than ${MAX_DEPTH} levels deep` }]);
  const value = Value.Default(schema, Value.Clone(raw));
  if (!Value.Check(schema, value)) {
    const problems = [...Value.Errors(schema, value)].slice(0, MAX_PROBLEMS).map((e) => ({ pointer: e.path, reason: e.message }));
    throw new RequestValidationError(problems);
  }
  return value as Static<S>;
}

/** Measured without recursion, so a hostile document cannot overflow the stack here either. */
function depthExceeds(root: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[root, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (value === null || typeof value !== "object") continue;
    if (depth >= limit) return true;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return false;
}
