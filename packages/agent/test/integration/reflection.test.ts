// gRPC server reflection of a real agent on a simulated node, over mutual TLS, read by a
// plain client of the reflection protocol (not the node CLI's own).
import test from "ava";
import { agentOnSim } from "./agent-harness.js";
import { Client, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { agentDescriptorSet, reflectionV1 } from "@lockstep/shared";
import type { AgentUnderTest } from "./agent-harness.js";
import { noClientCertificate, operatorChannel } from "./standard-grpc.js";

type Channel = ReturnType<typeof operatorChannel>;

/** One reflection request and its answer, on the given version's path. */
function reflect(
  agent: AgentUnderTest,
  request: Partial<reflectionV1.ServerReflectionRequest>,
  version = "v1",
  channel: Channel = operatorChannel(agent),
): Promise<reflectionV1.ServerReflectionResponse> {
  const client = new Client(agent.client.target, channel.credentials, channel.channelOptions);
  const stream = client.makeBidiStreamRequest(
    `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
    (m: reflectionV1.ServerReflectionRequest) => Buffer.from(reflectionV1.ServerReflectionRequest.encode(m).finish()),
    (b: Buffer) => reflectionV1.ServerReflectionResponse.decode(b),
    new Metadata(),
    { deadline: Date.now() + 30_000 },
  );
  return new Promise<reflectionV1.ServerReflectionResponse>((resolve, reject) => {
    stream.on("data", resolve);
    stream.on("error", reject);
    stream.write(reflectionV1.ServerReflectionRequest.fromPartial(request));
  }).finally(() => {
    stream.cancel();
    client.close();
  });
}

const listed = async (agent: AgentUnderTest, version?: string): Promise<string[]> =>
  ((await reflect(agent, { listServices: "*" }, version)).listServicesResponse?.service ?? [])
    .map((s) => s.name)
    .sort();

test("reflection lists NodeAgent, the health service and reflection itself, in both versions", async (t) => {
  const agent = await agentOnSim(t);
  const expected = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "lockstep.agent.v1.NodeAgent",
  ];
  t.deepEqual(await listed(agent), expected);
  t.deepEqual(await listed(agent, "v1alpha"), expected, "older tools' v1alpha answers the same");
});

test("reflection answers with protoc's own descriptors, from which every method's types resolve", async (t) => {
  const agent = await agentOnSim(t);
  const files = [];
  for (const symbol of ["grpc.health.v1.Health", "lockstep.agent.v1.NodeAgent", "lockstep.agent.v1.Container"]) {
    const answer = await reflect(agent, { fileContainingSymbol: symbol });
    files.push(...(answer.fileDescriptorResponse?.fileDescriptorProto ?? []));
  }
  const compiledIn = fromBinary(FileDescriptorSetSchema, agentDescriptorSet()).file;
  const byName = new Map(files.map((bytes) => [fromBinary(FileDescriptorProtoSchema, bytes).name, bytes]));
  t.deepEqual([...byName.keys()].sort(), ["grpc/health/v1/health.proto", "lockstep/agent/v1/agent.proto"]);
  for (const [name, bytes] of byName) {
    t.deepEqual(
      fromBinary(FileDescriptorProtoSchema, bytes),
      compiledIn.find((f) => f.name === name),
      `${name} is protoc's`,
    );
  }
  const registry = createFileRegistry(
    create(FileDescriptorSetSchema, {
      file: [...byName.values()].map((b) => fromBinary(FileDescriptorProtoSchema, b)),
    }),
  );
  t.is(
    registry.getService("lockstep.agent.v1.NodeAgent")?.methods.find((m) => m.name === "WatchEvents")?.methodKind,
    "server_streaming",
  );
  t.is(
    registry.getMessage("lockstep.agent.v1.Container")?.fields.find((f) => f.name === "config")?.fieldKind,
    "map",
    "a map is a map",
  );
});

test("reflection of an unknown symbol is a NOT_FOUND answer, not a broken stream", async (t) => {
  const agent = await agentOnSim(t);
  const answer = await reflect(agent, { fileContainingSymbol: "lockstep.agent.v1.Nothing" });
  t.is(answer.errorResponse?.errorCode, status.NOT_FOUND);
});

test("reflection without a client certificate is refused", async (t) => {
  const agent = await agentOnSim(t);
  const err = await t.throwsAsync<ServiceError>(
    reflect(agent, { listServices: "*" }, "v1", noClientCertificate(agent)),
  );
  t.is(err.code, status.UNAVAILABLE);
});
