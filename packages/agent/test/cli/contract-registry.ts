import { createFileRegistry, fromBinary, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { agentDescriptorSet } from "@lockstep/shared";

/** The services of the compiled-in descriptor set, as the CLI would learn them from an agent. */
export function contractServices(): { registry: FileRegistry; services: DescService[] } {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, agentDescriptorSet()));
  const names = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "lockstep.agent.v1.NodeAgent",
  ];
  return { registry, services: names.map((n) => registry.getService(n)!) };
}
