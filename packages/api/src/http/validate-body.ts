import type { Context } from "hono";
import type { Static, TSchema, TUnion } from "@sinclair/typebox";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import { RequestValidationError, UnsupportedMediaTypeError, type FieldProblem } from "../errors.js";
import { duplicateJsonKey } from "./duplicate-json-key.js";

const MAX_PROBLEMS = 20;
// Far deeper than any spec, far shallower than what exhausts the validator's recursion.
const MAX_DEPTH = 32;
// application/json, or any type with the +json suffix (RFC 6839), with or without parameters.
const JSON_MEDIA_TYPE = /^application\/([a-z0-9!#$&^_.-]+\+)?json\s*(;.*)?$/i;

/**
 * Parses and validates a JSON body against its schema (the same schema that describes the
 * route), applying declared defaults. A body must be declared JSON (415 otherwise), hold no
 * member name twice in one object, and match the schema; every problem is reported with the
 * JSON pointer of the deepest field that is wrong. With `emptyIsObject`, a body with no fields
 * may also be left out (and then needs no Content-Type).
 */
export async function validateBody<S extends TSchema>(
  c: Context,
  schema: S,
  options: { emptyIsObject?: boolean } = {},
): Promise<Static<S>> {
  const text = await c.req.text();
  if (text === "" && options.emptyIsObject) return checked(schema, {});
  const contentType = c.req.header("content-type");
  if (!contentType || !JSON_MEDIA_TYPE.test(contentType)) throw new UnsupportedMediaTypeError(contentType);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RequestValidationError([{ pointer: "", reason: "must be a JSON document" }]);
  }
  const duplicate = duplicateJsonKey(text);
  if (duplicate !== undefined)
    throw new RequestValidationError([
      { pointer: duplicate, reason: "must appear once in its object; this member name is given twice" },
    ]);
  if (depthExceeds(raw, MAX_DEPTH))
    throw new RequestValidationError([{ pointer: "", reason: `must not nest more than ${MAX_DEPTH} levels deep` }]);
  return checked(schema, raw);
}

function checked<S extends TSchema>(schema: S, raw: unknown): Static<S> {
  const value = Value.Default(schema, Value.Clone(raw));
  if (!Value.Check(schema, value))
    throw new RequestValidationError(
      oncePerField([...Value.Errors(schema, value)].flatMap(deepest)).slice(0, MAX_PROBLEMS),
    );
  return value as Static<S>;
}

/**
 * A value that matches no branch of a union is explained by the branch it came nearest to
 * (the fewest problems, then the deepest), each branch judged with its own defaults applied,
 * down to the field that is wrong: a clone VMID out of range says so at
 * /spec/source/clone/vmid, not "Expected union value" at /spec/source.
 */
function deepest(error: ValueError): FieldProblem[] {
  const branches = error.type === ValueErrorType.Union ? ((error.schema as TUnion).anyOf ?? []) : [];
  if (branches.length === 0) return [{ pointer: error.path, reason: error.message }];
  const explained = branches.map((branch) => {
    const value = Value.Default(branch, Value.Clone(error.value));
    return oncePerField([...Value.Errors(branch, value)].flatMap(deepest)).map((p) => ({
      pointer: `${error.path}${p.pointer}`,
      reason: p.reason,
    }));
  });
  const depth = (problems: FieldProblem[]) => Math.max(...problems.map((p) => p.pointer.split("/").length));
  explained.sort((a, b) => a.length - b.length || depth(b) - depth(a));
  return explained.find((problems) => problems.length > 0) ?? [{ pointer: error.path, reason: error.message }];
}

/** The first problem of each field (TypeBox reports a missing string as missing and as not a string). */
function oncePerField(problems: FieldProblem[]): FieldProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.pointer) && seen.add(p.pointer));
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
