// The checks of the node's tools (pct, pvesh, pveversion), each failed by the simulator.
import test from "ava";
import { writeFaults } from "@lockstep/sim";
import { pctCheck } from "../../src/doctor/checks/pct-check.js";
import { judgePveMajor, pveVersionCheck } from "../../src/doctor/checks/pve-version-check.js";
import { pveshCheck } from "../../src/doctor/checks/pvesh-check.js";
import { checkOn, simulatedNode } from "./doctor-harness.js";

// One at a time: each test starts the simulator's tools, and two CPUs share them with the suite.
test.serial("the pct check fails when pct list fails, with pct's own words", async (t) => {
  const root = simulatedNode(t);
  writeFaults(root, [{ command: "list", action: "fail", message: "ipcc_send_rec[1] failed: Connection refused" }]);
  const result = await checkOn(t, root, pctCheck);
  t.is(result.status, "fail");
  t.is(result.seen, "pct list exited 255: ipcc_send_rec[1] failed: Connection refused");
});

test.serial("the pct check fails when pct is not where the agent runs it", async (t) => {
  const result = await checkOn(t, simulatedNode(t), pctCheck, { LOCKSTEP_AGENT_PCT_PATH: "/nonexistent/pct" });
  t.is(result.status, "fail");
  t.is(result.seen, "/nonexistent/pct cannot be run (ENOENT)");
});

test.serial("the pvesh check fails when pvesh get /version fails", async (t) => {
  const root = simulatedNode(t);
  writeFaults(root, [
    {
      command: "pvesh",
      action: "fail",
      message: "Unable to load access control list: Connection refused",
      exitCode: 111,
    },
  ]);
  const result = await checkOn(t, root, pveshCheck);
  t.is(result.status, "fail");
  t.is(result.seen, "pvesh get /version exited 111: Unable to load access control list: Connection refused");
});

test.serial("a pvesh that hangs fails its check within the bound, killed, and the check says so", async (t) => {
  const root = simulatedNode(t);
  writeFaults(root, [{ command: "pvesh", action: "hang" }]);
  const started = Date.now();
  const result = await checkOn(t, root, pveshCheck, {}, { timeoutMs: 1_000 });
  t.is(result.status, "fail");
  t.regex(result.seen, /lockstep-sim-pvesh\.js gave no answer within 1000 ms \(killed\)$/);
  // Generous for a loaded machine: what matters is that it ends, and says why.
  t.true(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
});

test.serial("the PVE version check reads PVE 8 from a PVE 8 node", async (t) => {
  const result = await checkOn(t, simulatedNode(t), pveVersionCheck, { LOCKSTEP_SIM_PVE: "8" });
  t.is(result.status, "pass");
  t.regex(result.seen, /^PVE 8 \(pve-manager 8\.\d+\.\d+, kernel \S+\)$/);
});

test.serial("the PVE version check fails when pveversion fails", async (t) => {
  const root = simulatedNode(t);
  writeFaults(root, [{ command: "pveversion", action: "fail", message: "E: unable to read the package cache" }]);
  const result = await checkOn(t, root, pveVersionCheck);
  t.is(result.status, "fail");
  t.is(result.seen, "pveversion exited 255: E: unable to read the package cache");
});

test.serial("a PVE major version older than 8 fails, newer than 9 warns, 8 and 9 pass", (t) => {
  t.deepEqual(
    [7, 8, 9, 10].map((major) => judgePveMajor(major, `PVE ${major}`).status),
    ["fail", "pass", "pass", "warn"],
  );
});

test.serial("a pct that hangs fails its check once pct is stopped, and the check says so", async (t) => {
  const root = simulatedNode(t);
  writeFaults(root, [{ command: "list", action: "hang" }]);
  // The simulated pct ends at SIGTERM; a long grace only leaves the runner's stop time on a loaded machine.
  const result = await checkOn(
    t,
    root,
    pctCheck,
    { LOCKSTEP_AGENT_PCT_TERMINATE_GRACE_MS: "10000" },
    { timeoutMs: 1_000 },
  );
  t.is(result.status, "fail");
  t.regex(result.seen, /^HYPERVISOR_UNRESPONSIVE: pct list did not finish within 1000 ms and was stopped/);
});
