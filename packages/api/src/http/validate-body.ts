import type { Context } from "hono";
import type { Static, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { RequestValidationError } from "../errors.js";

const MAX_PROBLEMS = 20;

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
  const value = Value.Default(schema, Value.Clone(raw));
  if (!Value.Check(schema, value)) {
    const problems = [...Value.Errors(schema, value)].slice(0, MAX_PROBLEMS).map((e) => ({ pointer: e.path, reason: e.message }));
    throw new RequestValidationError(problems);
  }
  return value as Static<S>;
}
