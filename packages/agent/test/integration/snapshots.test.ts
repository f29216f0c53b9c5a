import test from "ava";
import { writeFaults } from "@lockstep/sim";
import { configText, startAgentOnSim, TEMPLATE } from "./agent-harness.js";

test("pruning keeps exactly keep_last of Lockstep's snapshots and every other one", async (t) => {
  const agent = await startAgentOnSim();
  t.teardown(() => agent.stop());
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await agent.pct(["snapshot", "101", "operator-keep"]);
  for (let i = 1; i <= 5; i++) await agent.client.createSnapshot({ requestId: `snap-${i}-x`, vmid: 101, name: `lockstep-${i}` });
  const res = await agent.client.pruneSnapshots({ requestId: "prune-1x", vmid: 101, keepLast: 3, prefix: "lockstep" });
  t.deepEqual(res.deleted, ["lockstep-1", "lockstep-2"]);
  const { snapshots } = await agent.client.listSnapshots({ vmid: 101 });
  t.deepEqual(snapshots.map((s) => s.name), ["operator-keep", "lockstep-3", "lockstep-4", "lockstep-5"]);
});

test("a failed delete is reported, the rest go on, and its leftover lock is cleared", async (t) => {
  const agent = await startAgentOnSim();
  t.teardown(() => agent.stop());
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  for (let i = 1; i <= 4; i++) await agent.client.createSnapshot({ requestId: `snap-f${i}-x`, vmid: 101, name: `lockstep-${i}` });
  writeFaults(agent.root, [{ command: "delsnapshot", times: 1, action: "fail", message: "zfs error: snapshot has dependent clones" }]);
  const res = await agent.client.pruneSnapshots({ requestId: "prune-2x", vmid: 101, keepLast: 1, prefix: "lockstep" });
  t.deepEqual(res.failed.map((f) => f.name), ["lockstep-1"]);
  t.regex(res.failed[0]!.message, /dependent clones/);
  t.deepEqual(res.deleted, ["lockstep-2", "lockstep-3"]);
  t.true(res.staleLockCleared);
  t.notRegex(configText(agent, 101), /^lock:/m);
});
