import anyTest, { type TestFn } from "ava";
import { LockstepError, type AgentClient, SuiteScope } from "@lockstep/shared";
import { nodeState } from "../../../../test/support/state-digest.js";
import { agentOnSim, OWNED, OWNER, TEMPLATE, type AgentUnderTest } from "./agent-harness.js";

/**
 * Hostile RPCs against a real agent over mTLS on a simulated node: every field that names
 * something gets shell metacharacters, '..', NUL, newlines and leading dashes; every VMID is
 * pushed out of range. Each is INVALID_ARGUMENT, and the node is checked to be unchanged.
 */
const test = anyTest as TestFn<{ agent: AgentUnderTest }>;
const HOSTILE = ["a;id", "$(id)", "`id`", "a|b", "a\nb", "a\u0000b", "../../etc", "-rf", "a b", "'\""];

const suite = new SuiteScope();

test.before(async (t) => {
  const agent = await agentOnSim(suite);
  await agent.pct(["create", "150", TEMPLATE, ...OWNED, "--hostname", "victim", "--start", "1"]);
  await agent.pct(["snapshot", "150", "keep"]);
  t.context = { agent };
});
test.afterEach.always((t) => suite.noteResult(t));
test.after.always(() => suite.close());

type Call = (client: AgentClient, value: string) => Promise<unknown>;
let n = 0;
const id = () => `hostile-rpc-${String(++n).padStart(6, "0")}`;

const FIELDS: Record<string, Call> = {
  "CreateContainer template": (c, v) =>
    c.createContainer({ requestId: id(), vmid: 151, template: `local:vztmpl/${v}.tar.zst`, hostname: "h" }),
  "CreateContainer hostname": (c, v) =>
    c.createContainer({ requestId: id(), vmid: 151, template: TEMPLATE, hostname: v }),
  "CreateContainer storage": (c, v) =>
    c.createContainer({ requestId: id(), vmid: 151, template: TEMPLATE, hostname: "h", storage: v }),
  "CreateContainer net0": (c, v) =>
    c.createContainer({ requestId: id(), vmid: 151, template: TEMPLATE, hostname: "h", net0: `name=eth0,bridge=${v}` }),
  "CreateContainer features": (c, v) =>
    c.createContainer({ requestId: id(), vmid: 151, template: TEMPLATE, hostname: "h", features: v }),
  "CreateContainer tags": (c, v) =>
    c.createContainer({ requestId: id(), vmid: 151, template: TEMPLATE, hostname: "h", tags: [v] }),
  "CreateContainer ownership_tag": (c, v) =>
    c.createContainer({ requestId: id(), vmid: 151, template: TEMPLATE, hostname: "h", ownershipTag: v }),
  "CloneContainer snapshot": (c, v) =>
    c.cloneContainer({ requestId: id(), vmid: 151, sourceVmid: 150, snapshot: v, hostname: "h" }),
  "CloneContainer hostname": (c, v) => c.cloneContainer({ requestId: id(), vmid: 151, sourceVmid: 150, hostname: v }),
  "UpdateConfig key": (c, v) => c.updateConfig({ requestId: id(), vmid: 150, ownershipTag: OWNER, set: { [v]: "1" } }),
  "UpdateConfig value": (c, v) =>
    c.updateConfig({ requestId: id(), vmid: 150, ownershipTag: OWNER, set: { cores: v } }),
  "UpdateConfig delete": (c, v) => c.updateConfig({ requestId: id(), vmid: 150, ownershipTag: OWNER, delete: [v] }),
  "UpdateConfig lxc key": (c, v) =>
    c.updateConfig({ requestId: id(), vmid: 150, ownershipTag: OWNER, lxc: { [`lxc.${v}`]: "x" } }),
  "UpdateConfig lxc value": (c, v) =>
    c.updateConfig({ requestId: id(), vmid: 150, ownershipTag: OWNER, lxc: { "lxc.apparmor.profile": v } }),
  "PushFile path": (c, v) =>
    c.pushFile({
      requestId: id(),
      vmid: 150,
      ownershipTag: OWNER,
      path: `/etc/${v}`,
      content: Buffer.from("x"),
      mode: 0o644,
    }),
  "PushFile user": (c, v) =>
    c.pushFile({
      requestId: id(),
      vmid: 150,
      ownershipTag: OWNER,
      path: "/etc/x",
      content: Buffer.from("x"),
      mode: 0o644,
      user: v,
    }),
  "EnsureService unit": (c, v) =>
    c.ensureService({
      requestId: id(),
      vmid: 150,
      ownershipTag: OWNER,
      unit: `${v}.service`,
      unitContent: Buffer.from("[Service]\n"),
    }),
  "CreateSnapshot name": (c, v) => c.createSnapshot({ requestId: id(), vmid: 150, ownershipTag: OWNER, name: v }),
  "DeleteSnapshot name": (c, v) => c.deleteSnapshot({ requestId: id(), vmid: 150, ownershipTag: OWNER, name: v }),
  "PruneSnapshots prefix": (c, v) =>
    c.pruneSnapshots({ requestId: id(), vmid: 150, ownershipTag: OWNER, keepLast: 1, prefix: v }),
  "Exec request_id": (c, v) => c.exec({ requestId: `req-${v}-0001`, vmid: 150, ownershipTag: OWNER, argv: ["true"] }),
};

// Values a field may legitimately hold are not hostile there: a template file name may start
// with '-' (it follows 'local:vztmpl/'), and so may a path segment, a bridge name inside net0
// and a request ID (none of them begins the argument).
const ALLOWED: Record<string, readonly string[]> = {
  "CreateContainer template": ["-rf"],
  "CreateContainer net0": ["-rf"],
  "PushFile path": ["-rf"],
  "Exec request_id": ["-rf"],
};

test.serial(
  "every field that names something refuses shell metacharacters, '..', NUL, newlines and leading dashes",
  async (t) => {
    const { agent } = t.context;
    const before = nodeState(agent.root);
    for (const [field, call] of Object.entries(FIELDS)) {
      for (const value of HOSTILE.filter((v) => !ALLOWED[field]?.includes(v))) {
        const err = await call(agent.client, value).then(
          () => null,
          (e: LockstepError) => e,
        );
        t.is(err?.code, "INVALID_ARGUMENT", `${field} = ${JSON.stringify(value)}: ${err?.message ?? "accepted"}`);
      }
    }
    t.deepEqual(nodeState(agent.root), before, "the node is unchanged");
  },
);

test.serial("out-of-range VMIDs are refused by every RPC that takes one", async (t) => {
  const { agent } = t.context;
  const c = agent.client;
  const before = nodeState(agent.root);
  for (const vmid of [0, 99, 1_000_000_000]) {
    const calls: Record<string, () => Promise<unknown>> = {
      CreateContainer: () => c.createContainer({ requestId: id(), vmid, template: TEMPLATE, hostname: "h" }),
      CloneContainer: () => c.cloneContainer({ requestId: id(), vmid: 151, sourceVmid: vmid, hostname: "h" }),
      DestroyContainer: () => c.destroyContainer({ requestId: id(), vmid }),
      StartContainer: () => c.startContainer({ requestId: id(), vmid }),
      StopContainer: () => c.stopContainer({ requestId: id(), vmid }),
      UpdateConfig: () => c.updateConfig({ requestId: id(), vmid, set: { cores: "2" } }),
      Exec: () => c.exec({ requestId: id(), vmid, argv: ["true"] }),
      PushFile: () => c.pushFile({ requestId: id(), vmid, path: "/etc/x", content: Buffer.from("x"), mode: 0o644 }),
      EnsureService: () =>
        c.ensureService({ requestId: id(), vmid, unit: "a.service", unitContent: Buffer.from("[Service]\n") }),
      CreateSnapshot: () => c.createSnapshot({ requestId: id(), vmid, name: "snap1" }),
      DeleteSnapshot: () => c.deleteSnapshot({ requestId: id(), vmid, name: "snap1" }),
      PruneSnapshots: () => c.pruneSnapshots({ requestId: id(), vmid, keepLast: 1 }),
      ClearLock: () => c.clearLock({ requestId: id(), vmid }),
      GetContainer: () => c.getContainer({ vmid }),
      InspectLock: () => c.inspectLock({ vmid }),
      ListSnapshots: () => c.listSnapshots({ vmid }),
    };
    for (const [method, call] of Object.entries(calls)) {
      const err = await call().then(
        () => null,
        (e: LockstepError) => e,
      );
      t.is(err?.code, "INVALID_ARGUMENT", `${method} vmid ${vmid}: ${err?.message ?? "accepted"}`);
      const now = nodeState(agent.root);
      if (now.files !== before.files)
        t.fail(
          `${method} vmid ${vmid} changed the node: ${now.mutatingCalls.slice(before.mutatingCalls.length).join(" | ")}`,
        );
    }
  }
  t.deepEqual(nodeState(agent.root), before, "the node is unchanged");
});

test.serial("shell metacharacters in an exec argv are passed literally, never to a shell", async (t) => {
  const { agent } = t.context;
  const marker = `/tmp/pwned-${process.pid}`;
  const res = await agent.client.exec({
    requestId: id(),
    vmid: 150,
    ownershipTag: OWNER,
    argv: ["echo", `$(touch ${marker})`, "`id`", ";", "|", "&&"],
  });
  t.is(res.stdout.toString(), `$(touch ${marker}) \`id\` ; | &&\n`);
  t.is((await agent.pct(["exec", "150", "--", "test", "-e", marker])).code, 1, "nothing was created in the container");
});

test.serial("an exec argv holding NUL, or empty, is refused", async (t) => {
  for (const argv of [["echo", "a\u0000b"], [], [""]]) {
    const err = await t.context.agent.client.exec({ requestId: id(), vmid: 150, ownershipTag: OWNER, argv }).then(
      () => null,
      (e: LockstepError) => e,
    );
    t.is(err?.code, "INVALID_ARGUMENT", JSON.stringify(argv));
  }
});
