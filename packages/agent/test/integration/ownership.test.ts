import anyTest, { type TestFn } from "ava";
import type { AgentClient, LockstepError } from "@lockstep/shared";
import { SuiteScope } from "@lockstep/shared";
import { nodeState } from "../../../../test/support/state-digest.js";
import { agentOnSim, OWNED, OWNER, TEMPLATE, type AgentUnderTest } from "./agent-harness.js";

/**
 * Every mutating RPC on an existing container acts for the record whose ownership tag it
 * carries (issue 14: "Never touch what is not Lockstep's"). On a real agent over a simulated
 * node: CT 150 is another record's (tag `lockstep-other`), CT 151 nobody's (no tag), CT 152
 * the tests' own (OWNER), CT 153 carries OWNER only as its description marker.
 */
const test = anyTest as TestFn<{ agent: AgentUnderTest }>;

const suite = new SuiteScope();

test.before(async (t) => {
  const agent = await agentOnSim(suite);
  await agent.pct(["create", "150", TEMPLATE, "--storage", "local-lvm", "--tags", "lockstep-other", "--start", "1"]);
  await agent.pct(["create", "151", TEMPLATE, "--storage", "local-lvm", "--start", "1"]);
  await agent.pct(["create", "152", TEMPLATE, ...OWNED]);
  await agent.pct(["create", "153", TEMPLATE, "--storage", "local-lvm", "--description", `lockstep-owner=${OWNER}`]);
  for (const vmid of ["150", "151"]) await agent.pct(["snapshot", vmid, "lockstep-keep"]);
  t.context = { agent };
});
test.afterEach.always((t) => suite.noteResult(t));
test.after.always(() => suite.close());

let n = 0;
const id = () => `ownership-${String(++n).padStart(6, "0")}`;

/** One call of each mutating RPC kind that acts on an existing container. */
const RPCS: Record<string, (c: AgentClient, vmid: number, ownershipTag: string) => Promise<unknown>> = {
  DestroyContainer: (c, vmid, ownershipTag) =>
    c.destroyContainer({ requestId: id(), vmid, force: true, purge: true, ownershipTag }),
  StartContainer: (c, vmid, ownershipTag) => c.startContainer({ requestId: id(), vmid, ownershipTag }),
  StopContainer: (c, vmid, ownershipTag) => c.stopContainer({ requestId: id(), vmid, ownershipTag }),
  UpdateConfig: (c, vmid, ownershipTag) =>
    c.updateConfig({
      requestId: id(),
      vmid,
      set: { memory: "1024" },
      lxc: { "lxc.apparmor.profile": "unconfined" },
      ownershipTag,
    }),
  Exec: (c, vmid, ownershipTag) => c.exec({ requestId: id(), vmid, argv: ["touch", "/root/owned"], ownershipTag }),
  PushFile: (c, vmid, ownershipTag) =>
    c.pushFile({ requestId: id(), vmid, path: "/etc/owned.conf", content: Buffer.from("x\n"), ownershipTag }),
  EnsureService: (c, vmid, ownershipTag) =>
    c.ensureService({
      requestId: id(),
      vmid,
      unit: "owned.service",
      unitContent: Buffer.from("[Service]\nExecStart=/bin/true\n"),
      enable: true,
      start: true,
      ownershipTag,
    }),
  CreateSnapshot: (c, vmid, ownershipTag) =>
    c.createSnapshot({ requestId: id(), vmid, name: "lockstep-new", ownershipTag }),
  DeleteSnapshot: (c, vmid, ownershipTag) =>
    c.deleteSnapshot({ requestId: id(), vmid, name: "lockstep-keep", ownershipTag }),
  PruneSnapshots: (c, vmid, ownershipTag) =>
    c.pruneSnapshots({ requestId: id(), vmid, keepLast: 0, prefix: "lockstep", ownershipTag }),
};

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: LockstepError) => e,
  );

test.serial(
  "every mutating RPC refuses a container that does not carry its tag with FOREIGN_CONTAINER, before any pct call",
  async (t) => {
    const { agent } = t.context;
    const before = nodeState(agent.root);
    for (const vmid of [150, 151]) {
      for (const [method, call] of Object.entries(RPCS)) {
        const err = await failure(call(agent.client, vmid, OWNER));
        t.is(err?.code, "FOREIGN_CONTAINER", `${method} on CT ${vmid}: ${err?.message ?? "accepted"}`);
        t.regex(err?.message ?? "", new RegExp(`CT ${vmid} .*does not carry ownership tag '${OWNER}'`), method);
        t.is(err?.metadata.ownership_tag, OWNER, method);
      }
    }
    const after = nodeState(agent.root);
    t.deepEqual(after.mutatingCalls, before.mutatingCalls, "no pct call that changes anything was made");
    t.is(after.files, before.files, "the node is unchanged");
  },
);

test.serial(
  "a mutating RPC without an ownership tag, or with one that is not a Proxmox tag, is INVALID_ARGUMENT naming ownership_tag",
  async (t) => {
    const { agent } = t.context;
    const before = nodeState(agent.root);
    for (const tag of ["", "Not A Tag", "lockstep;id"]) {
      for (const [method, call] of Object.entries(RPCS)) {
        const err = await failure(call(agent.client, 152, tag));
        t.is(err?.code, "INVALID_ARGUMENT", `${method} with tag ${JSON.stringify(tag)}: ${err?.message ?? "accepted"}`);
        t.is(err?.metadata.field, "ownership_tag", method);
      }
    }
    t.deepEqual(nodeState(agent.root), before, "the node is unchanged");
  },
);

test.serial("a container carrying the tag only as its description marker is the tag's own", async (t) => {
  const res = await t.context.agent.client.startContainer({ requestId: id(), vmid: 153, ownershipTag: OWNER });
  t.true(res.changed);
});

test.serial("a missing container keeps its answer: NOT_FOUND for a change, alreadyGone for a destroy", async (t) => {
  const { client } = t.context.agent;
  t.is((await failure(client.startContainer({ requestId: id(), vmid: 199, ownershipTag: OWNER })))?.code, "NOT_FOUND");
  t.true((await client.destroyContainer({ requestId: id(), vmid: 199, ownershipTag: OWNER })).alreadyGone);
});

test.serial("the owner's own container is changed and destroyed", async (t) => {
  const { agent } = t.context;
  const updated = await agent.client.updateConfig({
    requestId: id(),
    vmid: 152,
    set: { memory: "1024" },
    ownershipTag: OWNER,
  });
  t.deepEqual(updated.changedKeys, ["memory"]);
  t.false((await agent.client.destroyContainer({ requestId: id(), vmid: 152, ownershipTag: OWNER })).alreadyGone);
  t.regex((await agent.pct(["config", "152"])).stderr, /does not exist/);
});
