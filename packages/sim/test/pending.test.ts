// Pending changes, as pve-container src/PVE/LXC/Config.pm update_pct_config,
// vmconfig_hotplug_pending, vmconfig_apply_pending, parse_pct_config and write_pct_config
// handle them, and src/PVE/API2/LXC/Config.pm vm_config (`current`).
import { readFileSync } from "node:fs";
import test from "ava";
import { parseConfig } from "../src/index.js";
import { simNode, TEMPLATE } from "./sim-harness.js";
import type { TestScope } from "@lockstep/shared";

async function running(t: TestScope) {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--hostname", "a", "--start", "1"]);
  return node;
}

test("Config.pm vmconfig_hotplug_pending: features set on a running CT stays in [pve:pending]", async (t) => {
  const node = await running(t);
  t.is((await node.pct(["set", "101", "--features", "nesting=1"])).code, 0);
  const text = readFileSync(node.config(101), "utf8");
  t.regex(text, /\n\[pve:pending\]\nfeatures: nesting=1\n/);
  t.false(/^features:/m.test(text.split("[pve:pending]")[0]!));
});

test("Config.pm $LXC_FASTPLUG_OPTIONS and hotplug keys (cores, memory) apply at once on a running CT", async (t) => {
  const node = await running(t);
  await node.pct(["set", "101", "--cores", "2", "--memory", "1024", "--onboot", "1"]);
  const conf = parseConfig(readFileSync(node.config(101), "utf8"));
  t.is(conf.pending, undefined);
  t.is(conf.main.values.cores, "2");
  t.is(conf.main.values.memory, "1024");
});

test("Config.pm parse_pct_config: [pve:pending] is not a snapshot", async (t) => {
  const node = await running(t);
  await node.pct(["set", "101", "--features", "nesting=1"]);
  const conf = parseConfig(readFileSync(node.config(101), "utf8"));
  t.deepEqual([...conf.snapshots.keys()], []);
  t.is(conf.pending?.values.features, "nesting=1");
  t.is((await node.pct(["listsnapshot", "101"])).stdout.includes("pve:pending"), false);
});

test("API2/LXC/Config.pm vm_config: pct config shows the pending value, --current the applied one", async (t) => {
  const node = await running(t);
  await node.pct(["set", "101", "--features", "nesting=1", "--timezone", "UTC"]);
  t.regex((await node.pct(["config", "101"])).stdout, /^features: nesting=1$/m);
  t.notRegex((await node.pct(["config", "101", "--current"])).stdout, /^features:/m);
});

test("Config.pm add_to_pending_delete: deleting a non-hotplug key on a running CT waits in delete:", async (t) => {
  const node = await running(t);
  await node.pct(["set", "101", "--timezone", "UTC"]);
  await node.pct(["stop", "101"]);
  await node.pct(["start", "101"]);
  await node.pct(["set", "101", "--delete", "timezone"]);
  t.regex(readFileSync(node.config(101), "utf8"), /\[pve:pending\]\ndelete: timezone\n/);
  t.notRegex((await node.pct(["config", "101"])).stdout, /^timezone:/m);
  t.regex((await node.pct(["config", "101", "--current"])).stdout, /^timezone: UTC$/m);
});

test("PVE/LXC.pm vm_start: the next start applies pending values and removes the section", async (t) => {
  const node = await running(t);
  await node.pct(["set", "101", "--features", "nesting=1"]);
  await node.pct(["stop", "101"]);
  t.is((await node.pct(["start", "101"])).code, 0);
  const conf = parseConfig(readFileSync(node.config(101), "utf8"));
  t.is(conf.pending, undefined);
  t.is(conf.main.values.features, "nesting=1");
});

test("Config.pm vmconfig_apply_pending: set on a stopped CT applies at once", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["set", "101", "--features", "nesting=1"]);
  const conf = parseConfig(readFileSync(node.config(101), "utf8"));
  t.is(conf.pending, undefined);
  t.is(conf.main.values.features, "nesting=1");
});

test("Config.pm update_pct_config: unprivileged is read-only", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const result = await node.pct(["set", "101", "--unprivileged", "0"]);
  t.is(result.code, 255);
  t.is(result.stderr, "unable to modify read-only option: 'unprivileged'\n");
});

test("Config.pm parse_lxc_network/print_lxc_network: net0 is stored with keys sorted and type=veth", async (t) => {
  const node = await running(t);
  await node.pct(["set", "101", "--net0", "name=eth0,bridge=vmbr0,ip=dhcp,hwaddr=BC:24:11:00:00:01"]);
  t.regex(
    readFileSync(node.config(101), "utf8"),
    /^net0: bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,name=eth0,type=veth$/m,
  );
});

test("AbstractConfig.pm cleanup_pending: setting the current value again leaves nothing pending", async (t) => {
  const node = await running(t);
  await node.pct(["set", "101", "--features", "nesting=1"]);
  await node.pct(["stop", "101"]);
  await node.pct(["start", "101"]);
  await node.pct(["set", "101", "--features", "nesting=1"]);
  t.is(parseConfig(readFileSync(node.config(101), "utf8")).pending, undefined);
});

test("Config.pm update_pct_config: --revert drops a pending value, the applied one stays", async (t) => {
  const node = await running(t);
  await node.pct(["set", "101", "--features", "nesting=1"]);
  t.is((await node.pct(["set", "101", "--revert", "features"])).code, 0);
  const conf = parseConfig(readFileSync(node.config(101), "utf8"));
  t.is(conf.pending, undefined);
  t.is(conf.main.values.features, undefined);
});

test("API2/LXC/Config.pm update_vm: -delete and -revert of one key at once are refused", async (t) => {
  const node = await running(t);
  const result = await node.pct(["set", "101", "--delete", "features", "--revert", "features"]);
  t.is(result.code, 255);
  t.is(
    result.stderr,
    "400 Parameter verification failed.\ndelete: you can't use '-delete features' and '-revert features' at the same time\n",
  );
});
