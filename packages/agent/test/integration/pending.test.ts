import type { TestScope } from "@lockstep/shared";
import { appendFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { agentOnSim, OWNED, OWNER, TEMPLATE } from "./agent-harness.js";

// A running CT after `pct set 101 --features nesting=1`: pve-container src/PVE/LXC/Config.pm
// update_pct_config + vmconfig_hotplug_pending leave `features` in `[pve:pending]`, written by
// write_pct_config after the main section. (Written here by hand until the simulator does it.)
async function runningWithPendingFeatures(t: TestScope) {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, ...OWNED, "--hostname", "web-1", "--features", "keyctl=1"]);
  await agent.pct(["snapshot", "101", "base"]);
  await agent.pct(["start", "101"]);
  appendFileSync(path.join(agent.root, "etc/pve/lxc/101.conf"), "\n[pve:pending]\nfeatures: nesting=1\n");
  return agent;
}

test("UpdateConfig with the pending value changes nothing and says the key applies at the next start", async (t) => {
  const agent = await runningWithPendingFeatures(t);
  const result = await agent.client.updateConfig({
    requestId: "pending-1",
    vmid: 101,
    ownershipTag: OWNER,
    set: { features: "nesting=1" },
  });
  t.deepEqual([result.changedKeys, result.pendingKeys], [[], ["features"]]);
});

test("ListSnapshots does not list the pending section", async (t) => {
  const agent = await runningWithPendingFeatures(t);
  t.deepEqual(
    (await agent.client.listSnapshots({ vmid: 101 })).snapshots.map((s) => s.name),
    ["base"],
  );
});
