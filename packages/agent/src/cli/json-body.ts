import {
  fromJson,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type MessageShape,
  type Registry,
} from "@bufbuild/protobuf";
import { UsageError } from "./commands.js";

/**
 * A request from its proto3 JSON text, for `lockstep-node call`. A field the message does
 * not have is refused by name (with the fields it does have) rather than dropped: a typo in
 * a debugging call must not become a request with that field left at its default.
 */
export function requestFromJson(schema: DescMessage, text: string, registry: Registry): MessageShape<DescMessage> {
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new UsageError(`the request body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw new UsageError(`the request body must be a JSON object (a ${schema.typeName})`);
  checkFields(schema, json, "");
  try {
    return fromJson(schema, json, { registry });
  } catch (err) {
    throw new UsageError(`the request body does not fit ${schema.typeName}: ${(err as Error).message}`);
  }
}

/** Every key of `json`, and of the messages inside it, is a field of its message. */
function checkFields(schema: DescMessage, json: JsonObject, path: string): void {
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.jsonName === key || f.name === key);
    if (!field)
      throw new UsageError(
        `unknown field '${path}${key}': ${schema.typeName} has ${schema.fields.map((f) => f.jsonName).join(", ") || "no fields"}`,
      );
    for (const [inner, at] of messagesIn(field, value)) checkFields(field.message!, inner, `${path}${key}${at}.`);
  }
}

/** The JSON objects that are messages of `field` (none for well-known types, whose JSON is their own). */
function messagesIn(field: DescField, value: JsonValue): [JsonObject, string][] {
  const message = field.message;
  if (!message || message.typeName.startsWith("google.protobuf.")) return [];
  if (field.fieldKind === "message") return isObject(value) ? [[value, ""]] : [];
  if (field.fieldKind === "list")
    return Array.isArray(value)
      ? value.flatMap((v, i) => (isObject(v) ? [[v, `[${i}]`] as [JsonObject, string]] : []))
      : [];
  if (field.fieldKind === "map")
    return isObject(value)
      ? Object.entries(value).flatMap(([k, v]) =>
          isObject(v) ? [[v, `[${JSON.stringify(k)}]`] as [JsonObject, string]] : [],
        )
      : [];
  return [];
}

function isObject(value: JsonValue): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
