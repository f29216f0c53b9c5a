import { Client, Metadata, type ServiceError } from "@grpc/grpc-js";
import { fromBinary, toBinary, toJson, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import { fromServiceError } from "@lockstep/shared";
import type { AgentEndpoint } from "./agent-connection.js";
import { UsageError } from "./commands.js";
import { requestFromJson } from "./json-body.js";
import { methodName, resolveMethod } from "./method-resolver.js";
import type { ReflectedApi } from "./reflection-client.js";

export interface CallInput {
  /** The method as typed: `Method`, `Service/Method` or fully qualified. */
  readonly method: string | undefined;
  /** The request as proto3 JSON; `{}` when absent. */
  readonly body: string | undefined;
  /** A unary call's deadline (60 s when null); how long a stream is followed (until its end when null). */
  readonly timeoutMs: number | null;
  /** Ends a stream (Ctrl-C). */
  readonly signal: AbortSignal;
  /** Prints one answer: the response of a unary call, each message of a stream. */
  readonly print: (line: string) => void;
}

const UNARY_TIMEOUT_MS = 60_000;

/**
 * `lockstep-node call <method> '<json>'`: calls a unary or server-streaming method that the
 * agent's reflection describes, encoding the request and decoding the answers with those
 * descriptors only. The JSON goes as it is: a mutating method needs its request ID in it,
 * and the agent validates it as for any client.
 */
export async function callMethod(endpoint: AgentEndpoint, api: ReflectedApi, input: CallInput): Promise<void> {
  if (!input.method)
    throw new UsageError(
      "call needs a method: lockstep-node call <Method> '<json>' (lockstep-node describe lists them)",
    );
  const method = resolveMethod(api.services, input.method);
  if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
    throw new UsageError(
      `${methodName(method)} streams requests (${method.methodKind.replace("_", " ")}); call sends one request: use a streaming gRPC client`,
    );
  }
  const request = requestFromJson(method.input, input.body ?? "{}", api.registry);
  const client = new Client(endpoint.target, endpoint.credentials, endpoint.channelOptions);
  const show = (message: MessageShape<DescMessage>, indent?: number): string =>
    JSON.stringify(toJson(method.output, message, { registry: api.registry, alwaysEmitImplicit: true }), null, indent);
  try {
    if (method.methodKind === "unary")
      input.print(show(await unary(client, method, request, input.timeoutMs ?? UNARY_TIMEOUT_MS), 2));
    else await serverStream(client, method, request, input, (message) => input.print(show(message)));
  } finally {
    client.close();
  }
}

function codec(method: DescMethod): {
  path: string;
  serialize: (m: MessageShape<DescMessage>) => Buffer;
  deserialize: (b: Buffer) => MessageShape<DescMessage>;
} {
  return {
    path: `/${methodName(method)}`,
    serialize: (message) => Buffer.from(toBinary(method.input, message)),
    deserialize: (bytes) => fromBinary(method.output, bytes),
  };
}

function unary(
  client: Client,
  method: DescMethod,
  request: MessageShape<DescMessage>,
  timeoutMs: number,
): Promise<MessageShape<DescMessage>> {
  const { path, serialize, deserialize } = codec(method);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      serialize,
      deserialize,
      request,
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, response?: MessageShape<DescMessage>) =>
        err ? reject(fromServiceError(err)) : resolve(response!),
    );
  });
}

/** Resolves when the stream ends: by the agent, by the signal, or after `timeoutMs` (both quietly). */
function serverStream(
  client: Client,
  method: DescMethod,
  request: MessageShape<DescMessage>,
  input: CallInput,
  onMessage: (m: MessageShape<DescMessage>) => void,
): Promise<void> {
  const { path, serialize, deserialize } = codec(method);
  return new Promise((resolve, reject) => {
    const stream = client.makeServerStreamRequest(path, serialize, deserialize, request, new Metadata(), {});
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      stream.cancel();
    };
    // A stream may never end (Watch): its timeout ends the watching, not in failure.
    const timer = input.timeoutMs === null ? null : setTimeout(stop, input.timeoutMs);
    input.signal.addEventListener("abort", stop, { once: true });
    const done = (): void => {
      if (timer) clearTimeout(timer);
      input.signal.removeEventListener("abort", stop);
    };
    stream.on("data", onMessage);
    stream.on("end", () => (done(), resolve()));
    stream.on("error", (err: ServiceError) => (done(), stopped ? resolve() : reject(fromServiceError(err))));
  });
}
