// HA-managed CTs: pve-container src/PVE/API2/LXC/Status.pm vm_start / vm_stop
// (vm_is_ha_managed -> hastart/hastop task), src/PVE/API2/LXC.pm destroy_vm (purge).
import { readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { readRuntime, simLayout } from "../src/index.js";
import { eventually, simNode, TEMPLATE } from "./sim-harness.js";
import { runTool } from "./tool-run.js";
import type { TestScope } from "@lockstep/shared";

const running = (root: string): boolean => readRuntime(simLayout(root), 101).running;

async function haNode(t: TestScope, state = "stopped") {
  const node = simNode(t, { LOCKSTEP_SIM_HA_DELAY_MS: "700" });
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await runTool("ha-manager", node.root, ["add", "ct:101", "--state", state]);
  return node;
}

test("Status.pm vm_start: an HA-managed CT is only requested to start, and starts a little later", async (t) => {
  const node = await haNode(t);
  const result = await node.pct(["start", "101"]);
  t.is(result.code, 0);
  t.is(result.stdout, "Requesting HA start for CT 101\n");
  t.false(running(node.root));
  t.regex(readFileSync(path.join(node.root, "etc/pve/ha/resources.cfg"), "utf8"), /^ct: 101\n\tstate started\n/);
  t.regex(readFileSync(path.join(node.root, "var/log/pve/tasks/active"), "utf8"), /:hastart:101:root@pam:/);
  t.true(await eventually(() => running(node.root), 5000));
});

test("Status.pm vm_stop: an HA-managed CT is only requested to stop, and stops a little later", async (t) => {
  const node = await haNode(t);
  await node.pct(["start", "101"]);
  t.true(await eventually(() => running(node.root), 5000));
  const result = await node.pct(["stop", "101"]);
  t.is(result.stdout, "Requesting HA stop for CT 101\n");
  t.true(running(node.root));
  t.true(await eventually(() => !running(node.root), 5000));
});

test("API2/LXC.pm destroy_vm: an HA-managed CT is not destroyed without --purge", async (t) => {
  const node = await haNode(t);
  const result = await node.pct(["destroy", "101"]);
  t.is(result.code, 255);
  t.is(result.stderr, "unable to remove CT 101 - used in HA resources and purge parameter not set.\n");
});

test("API2/LXC.pm destroy_vm: --purge destroys the CT and removes its HA resource", async (t) => {
  const node = await haNode(t);
  const result = await node.pct(["destroy", "101", "--purge"]);
  t.is(result.code, 0);
  t.regex(result.stdout, /NOTE: removed CT 101 from HA resource configuration\.\n$/);
  t.false(readFileSync(path.join(node.root, "etc/pve/ha/resources.cfg"), "utf8").includes("ct: 101"));
});
