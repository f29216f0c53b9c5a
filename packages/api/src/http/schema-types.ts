import { Type, type TSchema } from "@sinclair/typebox";

/**
 * Building blocks of the response schemas in the OpenAPI document. They describe what the API
 * sends; request bodies are validated by their own schemas in each domain's `*-schemas.ts`.
 */
export const Timestamp = Type.String({
  description: "ISO 8601 time in UTC, e.g. 2026-12-01T05:30:00.000Z",
  pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$",
});

export const Uuid = Type.String({ pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** One of these strings (a string union such as a lifecycle's states). */
export const OneOf = <T extends string>(values: readonly T[], options: { description?: string } = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );

/** A schema of the document's components, by name (the document lists each once). */
export const Component = (name: string) => Type.Unsafe<unknown>({ $ref: `#/components/schemas/${name}` });

/**
 * A protobuf message of the agent's, passed through in protobuf's JSON mapping: camelCase
 * names, enums by name, and every field at its default value left out (so none is required).
 */
export function ProtoJson(properties: Record<string, TSchema>, description: string) {
  return Type.Object(Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, Type.Optional(v)])), {
    description,
  });
}

/** A ts-proto enum's values as protobuf's JSON mapping writes them (the proto names, prefix and all). */
export function protoEnumNames<E extends number>(
  values: Record<string, string | number>,
  toJson: (value: E) => string,
): string[] {
  return Object.values(values)
    .filter((v): v is E => typeof v === "number" && v >= 0)
    .map(toJson);
}
