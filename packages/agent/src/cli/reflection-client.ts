import { Metadata, status, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import { create, createFileRegistry, fromBinary, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { fromServiceError, LockstepError, reflectionV1 } from "@lockstep/shared";
import type { AgentEndpoint } from "./agent-connection.js";
import { inDependencyOrder } from "./descriptor-order.js";

/** What the agent says it serves, from its reflection service alone. */
export interface ReflectedApi {
  readonly services: readonly DescService[];
  /** Every message and enum the services use, for encoding and decoding calls. */
  readonly registry: FileRegistry;
}

type Request = reflectionV1.ServerReflectionRequest;
type Response = reflectionV1.ServerReflectionResponse;

/**
 * Asks the agent's server reflection (grpc.reflection.v1) for its services and the files
 * that declare them, over one stream within `timeoutMs`. Nothing of the contract compiled
 * into this CLI is used: a method added to the agent is callable without a new CLI.
 */
export async function reflectAgent(endpoint: AgentEndpoint, timeoutMs: number): Promise<ReflectedApi> {
  const client = new reflectionV1.ServerReflectionClient(
    endpoint.target,
    endpoint.credentials,
    endpoint.channelOptions,
  );
  const stream = client.serverReflectionInfo(new Metadata(), { deadline: Date.now() + timeoutMs });
  try {
    const ask = conversation(stream);
    const listed = await ask({ listServices: "*" });
    const names = (listed.listServicesResponse?.service ?? []).map((s) => s.name).sort();
    const files = new Map<string, FileDescriptorProto>();
    for (const name of names) {
      const found = await ask({ fileContainingSymbol: name });
      for (const bytes of found.fileDescriptorResponse?.fileDescriptorProto ?? []) {
        const file = fromBinary(FileDescriptorProtoSchema, bytes);
        if (!files.has(file.name)) files.set(file.name, file);
      }
    }
    const registry = createFileRegistry(
      create(FileDescriptorSetSchema, { file: inDependencyOrder([...files.values()]) }),
    );
    return {
      registry,
      services: names.map((name) => registry.getService(name)).filter((s): s is DescService => s !== undefined),
    };
  } finally {
    stream.cancel();
    client.close();
  }
}

/** Requests in order on one stream, each resolved by the next response (the protocol's order). */
function conversation(stream: ClientDuplexStream<Request, Response>): (request: Partial<Request>) => Promise<Response> {
  const waiting: { resolve(r: Response): void; reject(e: unknown): void }[] = [];
  let failure: unknown = null;
  const failAll = (err: unknown): void => {
    failure = err;
    for (const w of waiting.splice(0)) w.reject(err);
  };
  stream.on("data", (response: Response) => waiting.shift()?.resolve(response));
  stream.on("error", (err: ServiceError) => failAll(reflectionError(err)));
  stream.on("end", () => failAll(new LockstepError("UNAVAILABLE", "the agent ended the reflection stream early")));
  return (request) =>
    new Promise<Response>((resolve, reject) => {
      if (failure) return reject(failure);
      waiting.push({ resolve, reject });
      stream.write(reflectionV1.ServerReflectionRequest.fromPartial(request));
    }).then((response) => {
      const err = response.errorResponse;
      if (err) throw new LockstepError("NOT_FOUND", `reflection: ${err.errorMessage} (status ${err.errorCode})`);
      return response;
    });
}

function reflectionError(err: ServiceError): LockstepError {
  // An agent older than reflection answers UNIMPLEMENTED: say so rather than "internal".
  if (err.code === status.UNIMPLEMENTED)
    return new LockstepError(
      "FAILED_PRECONDITION",
      "the agent does not serve gRPC reflection (an agent older than lockstep-node describe/call?)",
    );
  return fromServiceError(err);
}
