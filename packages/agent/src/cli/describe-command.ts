import { ScalarType, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import type { Output } from "./commands.js";
import { methodName, resolveMethod } from "./method-resolver.js";
import type { ReflectedApi } from "./reflection-client.js";

/**
 * `lockstep-node describe [<method>]`: the agent's services and their methods as its
 * reflection tells them (request and response types, which side streams); with a method,
 * also the fields of its request and response, to write a `call` body from.
 */
export function describeApi(api: ReflectedApi, method: string | undefined): Output {
  if (method) return describeMethod(resolveMethod(api.services, method));
  const services = api.services.map((s) => ({ name: s.typeName, methods: s.methods.map(methodJson) }));
  const text = api.services
    .map((s) => [`service ${s.typeName}`, ...s.methods.map((m) => `  ${signature(m)}`)].join("\n"))
    .join("\n");
  return { json: { services }, text };
}

function describeMethod(method: DescMethod): Output {
  const text = [
    signature(method),
    `request ${method.input.typeName}`,
    ...fieldLines(method.input),
    `response ${method.output.typeName}`,
    ...fieldLines(method.output),
  ].join("\n");
  return {
    json: { ...methodJson(method), request: fieldsJson(method.input), response: fieldsJson(method.output) },
    text,
  };
}

/** `rpc Name(Request) returns (stream Response)`, as a .proto file writes it. */
function signature(m: DescMethod): string {
  const stream = (yes: boolean): string => (yes ? "stream " : "");
  const { client, server } = streaming(m);
  return `rpc ${m.name}(${stream(client)}${m.input.typeName}) returns (${stream(server)}${m.output.typeName})`;
}

function streaming(m: DescMethod): { client: boolean; server: boolean } {
  return {
    client: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
    server: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
  };
}

function methodJson(m: DescMethod): Record<string, unknown> {
  const { client, server } = streaming(m);
  return {
    name: m.name,
    fullName: methodName(m),
    requestType: m.input.typeName,
    responseType: m.output.typeName,
    clientStreaming: client,
    serverStreaming: server,
  };
}

function fieldLines(message: DescMessage): string[] {
  return message.fields.length ? message.fields.map((f) => `  ${f.jsonName}: ${fieldType(f)}`) : ["  (no fields)"];
}

function fieldsJson(message: DescMessage): { name: string; type: string }[] {
  return message.fields.map((f) => ({ name: f.jsonName, type: fieldType(f) }));
}

/** A field's type as a .proto file spells it. */
function fieldType(f: DescField): string {
  const single = (scalar: ScalarType | undefined, named: { typeName: string } | undefined): string =>
    named?.typeName ?? ScalarType[scalar!]!.toLowerCase();
  switch (f.fieldKind) {
    case "scalar":
      return single(f.scalar, undefined);
    case "enum":
      return `enum ${f.enum.typeName}`;
    case "message":
      return f.message.typeName;
    case "list":
      return `repeated ${single(f.scalar, f.listKind === "enum" ? f.enum : f.message)}`;
    case "map":
      return `map<${ScalarType[f.mapKey]!.toLowerCase()}, ${single(f.scalar, f.mapKind === "enum" ? f.enum : f.message)}>`;
  }
}
