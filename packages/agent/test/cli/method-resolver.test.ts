import test from "ava";
import { UsageError } from "../../src/cli/commands.js";
import { methodName, resolveMethod } from "../../src/cli/method-resolver.js";
import { contractServices } from "./contract-registry.js";

const { services } = contractServices();
const resolve = (spec: string): string => methodName(resolveMethod(services, spec));

test("a method is found by its name alone, with its service, or fully qualified", (t) => {
  for (const spec of [
    "GetHealth",
    "NodeAgent/GetHealth",
    "NodeAgent.GetHealth",
    "lockstep.agent.v1.NodeAgent/GetHealth",
    "lockstep.agent.v1.NodeAgent.GetHealth",
    "/lockstep.agent.v1.NodeAgent/GetHealth",
  ]) {
    t.is(resolve(spec), "lockstep.agent.v1.NodeAgent/GetHealth", spec);
  }
  t.is(resolve("Health/Check"), "grpc.health.v1.Health/Check");
});

test("an unknown method is refused with the methods whose names are near it", (t) => {
  const err = t.throws(() => resolve("Health"), { instanceOf: UsageError });
  t.is(
    err.message,
    "unknown method 'Health'; did you mean grpc.health.v1.Health/Check, grpc.health.v1.Health/Watch, grpc.health.v1.Health/List, lockstep.agent.v1.NodeAgent/GetHealth? (lockstep-node describe lists them)",
  );
  t.regex(t.throws(() => resolve("InspectLok"))!.message, /did you mean lockstep\.agent\.v1\.NodeAgent\/InspectLock\?/);
  t.is(
    t.throws(() => resolve("Frobnicate"))!.message,
    "unknown method 'Frobnicate' (lockstep-node describe lists them)",
  );
});

test("a method of a service that does not have it is unknown", (t) => {
  t.throws(() => resolve("Health/GetHealth"), {
    instanceOf: UsageError,
    message: /^unknown method 'Health\/GetHealth'/,
  });
});

test("a name two services share is refused as ambiguous, naming both", (t) => {
  t.throws(() => resolve("ServerReflectionInfo"), {
    instanceOf: UsageError,
    message:
      "method 'ServerReflectionInfo' is ambiguous: grpc.reflection.v1.ServerReflection/ServerReflectionInfo, grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo; name its service too",
  });
  t.is(
    resolve("grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  );
});
