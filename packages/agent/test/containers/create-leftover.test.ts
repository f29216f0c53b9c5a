import test from "ava";
import { createContainer } from "../../src/containers/create-container.js";
import { destroyContainer } from "../../src/containers/destroy-container.js";
import { createSpec, fakeNode, testOperation } from "./fake-node.js";

// pve-container src/PVE/API2/LXC.pm create_vm: on an error its worker destroys what it wrote
// (the disks, then the config). With /etc/pve read-only meanwhile (quorum lost: pmxcfs
// dcdb.c refuses every change with EACCES) that unlink fails and the `lock: create`
// placeholder stays, without Lockstep's marker.

const TAG = "lockstep-ct-1";
const SPEC = createSpec({ vmid: 101, diskGb: 4 });
const PLACEHOLDER = "lock: create\n";
/** A lock guard that finds the lock free (the fake node runs no process that could hold it). */
function freeLocks(node: ReturnType<typeof fakeNode>): void {
  const free = {
    node: "pve1",
    vmid: 101,
    path: "",
    fileExists: false,
    kernelLocked: false,
    recordedPid: 0,
    recordedPidAlive: false,
    holders: [],
    configLock: "",
    activeTasks: [],
    verdict: "FREE",
    ownerKind: "NONE",
    detail: "",
  };
  Object.assign(node.ctx, { gate: { ensureFree: async () => undefined, settle: async () => free } });
}

const REFUSED = {
  exitCode: 255,
  stderr: "unable to create CT 101 - EACCES: permission denied, unlink '/etc/pve/nodes/pve1/lxc/101.conf'\n",
};

test("a create whose cleanup could not remove its placeholder keeps its intent, so that a delete with its tag removes the leftover", async (t) => {
  const node = fakeNode(t, (args) => {
    if (args[0] === "create") {
      node.writeConfig(101, PLACEHOLDER);
      return REFUSED;
    }
    return {};
  });
  freeLocks(node);
  await t.throwsAsync(createContainer(node.ctx, SPEC, TAG, testOperation("r1")), { message: /EACCES/ });
  t.like(await node.ctx.intents.get(101), { op: "create", ownershipTag: TAG });
  t.deepEqual(await destroyContainer(node.ctx, 101, { force: true, purge: true }, testOperation("r2"), TAG), {
    alreadyGone: false,
  });
  t.true(
    node.calls.some((args) => args[0] === "destroy" && args[1] === "101"),
    "the placeholder is destroyed",
  );
  t.is(await node.ctx.intents.get(101), null);
});

test("a create whose cleanup removed everything forgets its intent: a placeholder appearing later is nobody's to destroy", async (t) => {
  const node = fakeNode(t, (args) => (args[0] === "create" ? REFUSED : {}));
  freeLocks(node);
  await t.throwsAsync(createContainer(node.ctx, SPEC, TAG, testOperation("r1")), { message: /EACCES/ });
  t.is(await node.ctx.intents.get(101), null);
  node.writeConfig(101, PLACEHOLDER);
  await t.throwsAsync(destroyContainer(node.ctx, 101, { force: true, purge: true }, testOperation("r2"), TAG), {
    code: "FOREIGN_CONTAINER",
  } as never);
});

test("a create that failed 'does not exist' while pmxcfs was stopped under it answers the outage, retryable, and keeps its intent", async (t) => {
  // The placeholder written before pmxcfs stopped comes back with pmxcfs: the intent proves it ours.
  const node = fakeNode(t, (args) => {
    if (args[0] === "create") {
      node.clusterFs.state = "not-mounted";
      return { exitCode: 255, stderr: "Configuration file 'nodes/pve1/lxc/101.conf' does not exist\n" };
    }
    return {};
  });
  freeLocks(node);
  await t.throwsAsync(createContainer(node.ctx, SPEC, TAG, testOperation("r1")), {
    code: "HYPERVISOR_UNRESPONSIVE",
    message: /not-mounted/,
  } as never);
  t.like(await node.ctx.intents.get(101), { op: "create", ownershipTag: TAG });
});
