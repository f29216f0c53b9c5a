// HA relocation in a simulated cluster: pve-ha-manager src/PVE/API2/HA/Resources.pm migrate /
// relocate (queue_crm_commands), src/PVE/HA/Resources/PVECT.pm migrate (shutdown, then
// migrate_vm offline), pve-container src/PVE/API2/LXC.pm migrate_vm (`hamigrate` for an
// HA-managed CT), pve-common src/PVE/RESTEnvironment.pm fork_worker (`task started by HA
// resource agent`).
import { readFileSync } from "node:fs";
import test from "ava";
import { HA_CALLER, readCalls, simLayout, taskLogPath, writeFaults } from "../src/index.js";
import { testCluster } from "./cluster-harness.js";
import { eventually, TEMPLATE } from "./sim-harness.js";
import type { TestScope } from "@lockstep/shared";

async function haCluster(t: TestScope, state: "started" | "stopped") {
  const cluster = testCluster(t, 2, { LOCKSTEP_SIM_HA_DELAY_MS: "300", LOCKSTEP_SIM_COPY_MS_PER_GB: "10" });
  const [pve1] = cluster.nodes;
  await pve1!.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await pve1!.tool("ha-manager", ["add", "ct:101", "--state", state]);
  if (state === "started") {
    await pve1!.pct(["start", "101"]);
    if (!(await eventually(() => pve1!.running(101), 5000))) throw new Error("the HA start never happened");
  }
  return cluster;
}

test("PVECT.pm migrate: `ha-manager migrate` shuts a started CT down, moves it, and the CRM starts it on the target", async (t) => {
  const { nodes, killWorkers } = await haCluster(t, "started");
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  const result = await pve1!.tool("ha-manager", ["migrate", "ct:101", "pve2"]);
  t.is(result.code, 0);
  t.is(result.stdout, "");
  t.true(await eventually(() => pve2!.running(101), 10_000));
  t.is(pve1!.config(101), null);
  t.regex(pve1!.active(), /:vzshutdown:101:root@pam: 1 [0-9A-F]+ OK$/m);
  t.regex(pve1!.active(), /:vzmigrate:101:root@pam: 1 [0-9A-F]+ OK$/m);
});

test("Manager.pm next_state_migrate_relocate: a started CT whose HA migration failed is started again on its own node", async (t) => {
  const { nodes, killWorkers } = await haCluster(t, "started");
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  writeFaults(pve1!.root, [{ command: "migrate", action: "fail", message: "migration aborted" }]);
  await pve1!.tool("ha-manager", ["migrate", "ct:101", "pve2"]);
  t.true(await eventually(() => readCalls(pve1!.root).some((c) => c.event === "start" && c.argv[0] === "migrate")));
  t.true(await eventually(() => pve1!.running(101)), "running again on pve1");
  t.is(pve2!.config(101), null);
  t.regex(pve1!.active(), /:vzshutdown:101:root@pam: 1 [0-9A-F]+ OK$/m);
});

test("PVECT.pm migrate: the HA stack's tasks say they were started by the HA resource agent", async (t) => {
  const { nodes, killWorkers } = await haCluster(t, "stopped");
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  await pve1!.tool("ha-manager", ["relocate", "ct:101", "pve2"]);
  t.true(await eventually(() => pve2!.config(101) !== null && !/^lock:/m.test(pve2!.config(101)!), 10_000));
  t.false(pve2!.running(101));
  const migrate = readCalls(pve1!.root).find((c) => c.event === "start" && c.argv[0] === "migrate");
  t.is(migrate?.event === "start" ? migrate.caller : undefined, HA_CALLER);
  const upid = /^(UPID:pve1:[^ ]+:vzmigrate:101:[^ ]+) /m.exec(pve1!.active())![1]!;
  t.regex(
    readFileSync(taskLogPath(simLayout(pve1!.root, "pve1"), upid), "utf8"),
    /^task started by HA resource agent\n/,
  );
});

test("API2/LXC.pm migrate_vm: `pct migrate` of an HA-managed CT only requests the HA migration", async (t) => {
  const { nodes, killWorkers } = await haCluster(t, "stopped");
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  const result = await pve1!.pct(["migrate", "101", "pve2"]);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, "Requesting HA migration for CT 101 to node pve2\n");
  t.regex(pve1!.active(), /:hamigrate:101:root@pam: 1 [0-9A-F]+ OK$/m);
  t.not(pve1!.config(101), null);
  t.true(await eventually(() => pve2!.config(101) !== null, 10_000));
});

test("API2/HA/Resources.pm migrate: a CT that is not HA managed is refused", async (t) => {
  const { nodes } = testCluster(t, 2);
  await nodes[0]!.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const result = await nodes[0]!.tool("ha-manager", ["migrate", "ct:101", "pve2"]);
  t.is(result.code, 255);
  t.is(result.stderr, "resource 'ct:101' is not HA managed\n");
});
