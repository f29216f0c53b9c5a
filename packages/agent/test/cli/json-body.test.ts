import test from "ava";
import { UsageError } from "../../src/cli/commands.js";
import { requestFromJson } from "../../src/cli/json-body.js";
import { contractServices } from "./contract-registry.js";

const { registry } = contractServices();
const schema = (name: string) => registry.getMessage(`lockstep.agent.v1.${name}`)!;
const body = (name: string, text: string) =>
  requestFromJson(schema(name), text, registry) as unknown as Record<string, unknown>;

test("a body takes proto3 JSON names and the .proto's own names alike", (t) => {
  t.like(body("PruneSnapshotsRequest", '{"requestId": "r-1", "vmid": 101, "keep_last": 3}'), {
    requestId: "r-1",
    vmid: 101,
    keepLast: 3,
  });
});

test("a field the message does not have is refused by name, with the fields it has", (t) => {
  t.throws(() => body("InspectLockRequest", '{"vmid": 101, "vmId": 102}'), {
    instanceOf: UsageError,
    message: "unknown field 'vmId': lockstep.agent.v1.InspectLockRequest has vmid",
  });
});

test("an unknown field inside a nested message is named by its path", (t) => {
  // No request nests messages today; the check is the same for any message the contract grows.
  t.throws(() => body("GetContainerResponse", '{"container": {"vmid": 101, "nmae": "web"}}'), {
    instanceOf: UsageError,
    message: /^unknown field 'container\.nmae': lockstep\.agent\.v1\.Container has vmid, name, /,
  });
  t.throws(() => body("GetContainerResponse", '{"snapshots": [{"name": "a"}, {"nam": "b"}]}'), {
    instanceOf: UsageError,
    message: /^unknown field 'snapshots\[1\]\.nam': lockstep\.agent\.v1\.Snapshot has name, /,
  });
  const health = registry.getMessage("grpc.health.v1.HealthListResponse")!;
  t.throws(() => requestFromJson(health, '{"statuses": {"": {"stauts": "SERVING"}}}', registry), {
    instanceOf: UsageError,
    message: "unknown field 'statuses[\"\"].stauts': grpc.health.v1.HealthCheckResponse has status",
  });
});

test("a body that is not JSON, or not an object, is refused", (t) => {
  t.throws(() => body("InspectLockRequest", '{"vmid": 101'), {
    instanceOf: UsageError,
    message: /^the request body is not JSON: /,
  });
  t.throws(() => body("InspectLockRequest", "[101]"), {
    instanceOf: UsageError,
    message: "the request body must be a JSON object (a lockstep.agent.v1.InspectLockRequest)",
  });
});

test("a value of the wrong type is refused naming the field", (t) => {
  t.throws(() => body("InspectLockRequest", '{"vmid": "one hundred"}'), {
    instanceOf: UsageError,
    message: /^the request body does not fit lockstep\.agent\.v1\.InspectLockRequest: .*vmid/,
  });
});
