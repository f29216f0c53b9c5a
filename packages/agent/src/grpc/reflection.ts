import type { Server, ServerDuplexStream, ServiceDefinition } from "@grpc/grpc-js";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
// The implementation behind @grpc/reflection's ReflectionService, taken directly: that facade's
// addToServer loads reflection.proto from beside its own files at run time, which a bundled
// agent does not carry. Its answers are the same; only the service definition is ours, from
// the compiled-in contract (hence the exact version pin in package.json).
import { ReflectionV1Implementation } from "@grpc/reflection/build/src/implementations/reflection-v1.js";
import { agentDescriptorSet, reflectionV1 } from "@lockstep/shared";

type LibraryRequest = Parameters<ReflectionV1Implementation["handleServerReflectionRequest"]>[0];
type LibraryPackage = ConstructorParameters<typeof ReflectionV1Implementation>[0];
type Request = reflectionV1.ServerReflectionRequest;
type Response = reflectionV1.ServerReflectionResponse;

/** The request's oneof, whose set member the library reads from `messageRequest`. */
const REQUEST_KINDS = [
  "fileByFilename",
  "fileContainingSymbol",
  "fileContainingExtension",
  "allExtensionNumbersOfType",
  "listServices",
] as const;

/**
 * Serves gRPC server reflection of every service in the compiled-in descriptor set (the
 * NodeAgent contract, grpc.health.v1 and reflection itself), so that generic clients and
 * `lockstep-node describe|call` can list and call methods. It is one more service on the
 * agent's server: the same mutual TLS and client allowlist stand before it. Both versions in
 * use are served: v1, and v1alpha (older tools), whose messages are v1's on the wire.
 */
export function addReflection(server: Pick<Server, "addService">): void {
  const reflection = new ReflectionV1Implementation(asPackageDefinition(agentDescriptorSet()));
  const handler = {
    serverReflectionInfo: (stream: ServerDuplexStream<Request, Response>) => {
      stream.on("data", (request: Request) => stream.write(answer(reflection, request)));
      stream.on("end", () => stream.end());
    },
  };
  server.addService(reflectionV1.ServerReflectionService, handler);
  server.addService(atPackage(reflectionV1.ServerReflectionService, "grpc.reflection.v1alpha"), handler);
}

/**
 * The set's files exactly as protoc wrote them, in the one part of a proto-loader package
 * definition the library reads (`fileDescriptorProtos`). Not proto-loader's own
 * loadFileDescriptorSetFromBuffer: it rebuilds each file through protobufjs, whose
 * descriptors mark every message that holds a map as a map entry, drop json_name and leave
 * type names relative, which clients that check descriptors (protobuf-es, Go's protoreflect)
 * refuse.
 */
function asPackageDefinition(set: Uint8Array): LibraryPackage {
  const files: Uint8Array[] = [];
  const reader = new BinaryReader(set);
  while (reader.pos < reader.len) {
    const [field, type] = reader.tag();
    // FileDescriptorSet: field 1 is `repeated FileDescriptorProto file`.
    if (field === 1 && type === WireType.LengthDelimited) files.push(reader.bytes());
    else reader.skip(type);
  }
  return {
    "": { format: "Protocol Buffer 3 FileDescriptorProto", fileDescriptorProtos: files },
  } as unknown as LibraryPackage;
}

/** The library's answer; it reads the oneof's set member from a `messageRequest` key, as proto-loader gives it. */
function answer(reflection: ReflectionV1Implementation, request: Request): Response {
  const messageRequest = REQUEST_KINDS.find((kind) => request[kind] !== undefined);
  const response = reflection.handleServerReflectionRequest({ ...request, messageRequest } as LibraryRequest);
  // Its descriptors are Uint8Arrays where the generated type says Buffer; encoding takes either.
  return reflectionV1.ServerReflectionResponse.fromPartial({
    ...response,
    originalRequest: request,
  } as Partial<Response>);
}

/** The same service under another package: only the path changes. */
function atPackage(service: typeof reflectionV1.ServerReflectionService, pkg: string): ServiceDefinition {
  const method = service.serverReflectionInfo;
  return { serverReflectionInfo: { ...method, path: `/${pkg}.ServerReflection/ServerReflectionInfo` } };
}
