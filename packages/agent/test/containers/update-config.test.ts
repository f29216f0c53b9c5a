import test from "ava";
import { parsePolicy } from "@lockstep/shared";
import { updateConfig } from "../../src/containers/update-config.js";
import { listSnapshots } from "../../src/snapshots/list-snapshots.js";
import { fakeNode, testOperation } from "./fake-node.js";

// A running CT whose `features` change Proxmox could not hot-apply: pve-container
// src/PVE/LXC/Config.pm update_pct_config puts every key of `pct set` into `[pve:pending]`,
// vmconfig_hotplug_pending applies only the hotpluggable ones and leaves `features` there.
const PENDING_FEATURES = "arch: amd64\nfeatures: keyctl=1\nmemory: 512\n\n[pve:pending]\nfeatures: nesting=1\n";
const change = (set: Record<string, string>, remove: string[] = []) => ({ set, remove, lxc: {} });

test("a desired value already pending is not set again", async (t) => {
  const node = fakeNode(t, () => ({}));
  node.writeConfig(101, PENDING_FEATURES);
  const result = await updateConfig(
    node.ctx,
    101,
    change({ features: "nesting=1" }),
    testOperation("r1"),
    "lockstep-test",
  );
  t.deepEqual(node.calls, []);
  t.deepEqual(result.changedKeys, []);
});

test("a desired value already pending is reported as applying at the next start", async (t) => {
  const node = fakeNode(t, () => ({}));
  node.writeConfig(101, PENDING_FEATURES);
  t.deepEqual(
    (
      await updateConfig(
        node.ctx,
        101,
        change({ features: "nesting=1", memory: "512" }),
        testOperation("r1"),
        "lockstep-test",
      )
    ).pendingKeys,
    ["features"],
  );
});

test("a desired value equal to the running one but not to the pending one is set (Proxmox then drops the pending value)", async (t) => {
  const node = fakeNode(t, () => ({}));
  // keyctl is root@pam's alone (pve-container src/PVE/LXC.pm check_ct_modify_config_perm): this node's owner allows it.
  Object.assign(node.ctx, { policy: parsePolicy({ feature_flags: ["nesting", "keyctl"] }, "the test's policy") });
  node.writeConfig(101, PENDING_FEATURES);
  const result = await updateConfig(
    node.ctx,
    101,
    change({ features: "keyctl=1" }),
    testOperation("r1"),
    "lockstep-test",
  );
  t.deepEqual(node.calls, [["set", "101", "--features", "keyctl=1"]]);
  t.deepEqual(result.changedKeys, ["features"]);
});

test("a key Proxmox leaves pending after the set is reported as pending", async (t) => {
  const node = fakeNode(t, (args) => {
    if (args[0] === "set")
      node.writeConfig(101, "features: keyctl=1\nmemory: 1024\n\n[pve:pending]\nfeatures: nesting=1\n");
    return {};
  });
  node.writeConfig(101, "features: keyctl=1\nmemory: 512\n");
  const result = await updateConfig(
    node.ctx,
    101,
    change({ features: "nesting=1", memory: "1024" }),
    testOperation("r1"),
    "lockstep-test",
  );
  t.deepEqual(result.changedKeys, ["features", "memory"]);
  t.deepEqual(result.pendingKeys, ["features"]);
});

test("a key already pending deletion is not deleted again", async (t) => {
  const node = fakeNode(t, () => ({}));
  node.writeConfig(101, "mp0: local-lvm:vm-101-disk-1,mp=/data\n\n[pve:pending]\ndelete: mp0\n");
  const result = await updateConfig(node.ctx, 101, change({}, ["mp0"]), testOperation("r1"), "lockstep-test");
  t.deepEqual(node.calls, []);
  t.deepEqual(result.pendingKeys, ["mp0"]);
});

test("a key to delete that only has a pending value is reverted, not deleted (API2/LXC/Config.pm: -delete and -revert of one key are refused together)", async (t) => {
  const node = fakeNode(t, () => ({}));
  node.writeConfig(101, "memory: 512\n\n[pve:pending]\nfeatures: nesting=1\n");
  await updateConfig(node.ctx, 101, change({}, ["features"]), testOperation("r1"), "lockstep-test");
  t.deepEqual(node.calls, [["set", "101", "--revert", "features"]]);
});

test("a key to delete with both a running and a pending value is reverted, then deleted, in two calls", async (t) => {
  const node = fakeNode(t, () => ({}));
  node.writeConfig(101, PENDING_FEATURES);
  await updateConfig(node.ctx, 101, change({}, ["features"]), testOperation("r1"), "lockstep-test");
  t.deepEqual(node.calls, [
    ["set", "101", "--revert", "features"],
    ["set", "101", "--delete", "features"],
  ]);
});

test("a key pending deletion that is wanted with its running value is set again", async (t) => {
  const node = fakeNode(t, () => ({}));
  node.writeConfig(101, "swap: 512\n\n[pve:pending]\ndelete: swap\n");
  await updateConfig(node.ctx, 101, change({ swap: "512" }), testOperation("r1"), "lockstep-test");
  t.deepEqual(node.calls, [["set", "101", "--swap", "512"]]);
});

test("the pending section is never listed as a snapshot", async (t) => {
  const node = fakeNode(t, () => ({}));
  node.writeConfig(101, `${PENDING_FEATURES}\n[snap1]\nmemory: 512\nsnaptime: 1700000000\n`);
  t.deepEqual(
    (await listSnapshots(node.ctx, 101)).map((s) => s.name),
    ["snap1"],
  );
});
