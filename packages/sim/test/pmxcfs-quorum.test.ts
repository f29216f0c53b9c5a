// pct on a node whose pmxcfs has no quorum or is down. pve-cluster src/PVE/Cluster.pm
// check_cfs_quorum (lstat of /etc/pve/local, mode & 0200), called by pve-container
// API2/LXC/Status.pm vm_start and API2/LXC.pm create_vm and migrate_vm; pct set has no such check and fails
// at the config write (pve-common src/PVE/File.pm file_set_contents: `unable to open file`).
// With pmxcfs stopped, the CLI's own start fails first: its IPC to pmxcfs is refused.
import test from "ava";
import { SuiteScope } from "@lockstep/shared";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ctConfig, pmxcfsCluster, prepareFuse, unmountAll, type PmxcfsNode } from "./pmxcfs-harness.js";
import { readConfig } from "../src/node/ct-config.js";
import { writePmxcfsState } from "../src/pmxcfs/pmxcfs-state.js";
import { simHaManagerBin, simLayout, simPctBin, simQmBin, simVzdumpBin } from "../src/index.js";
import { eventually, runExecutable, simNode, TEMPLATE } from "./sim-harness.js";

const fuse = prepareFuse();
const it = fuse.ok ? test.serial : test.serial.skip;
if (!fuse.ok) console.log(`pmxcfs tests skipped: ${fuse.reason}`);

// The directories live as long as the file's tests, and stay when one failed.
const suite = new SuiteScope();
const { cluster, nodes } = pmxcfsCluster(["pve1"], suite);
const node = nodes[0] as PmxcfsNode;
const config = path.join(cluster, "nodes/pve1/lxc/101.conf");

test.before(async () => {
  if (!fuse.ok) return;
  writeFileSync(config, ctConfig("web-1"));
  await node.control("mount");
});

test.afterEach.always(async (t) => {
  suite.noteResult(t);
  if (!fuse.ok) return;
  await node.control("start");
  await node.control("quorum");
});

test.after.always(async (t) => {
  if (fuse.ok) t.true(await unmountAll(nodes), "a mount was left behind");
  await suite.close();
});

it("pct set without quorum fails at the config write with file_set_contents's text and changes nothing", async (t) => {
  await node.control("no-quorum");
  const run = await node.pct(["set", "101", "--memory", "1024"]);
  t.is(run.code, 255);
  t.regex(run.stderr, /^unable to open file '.*\/101\.conf\.tmp\.\d+' - Permission denied\n$/);
  t.is(readFileSync(config, "utf8"), ctConfig("web-1"));
});

it("pct start without quorum dies with `cluster not ready - no quorum?` (Status.pm vm_start: check_cfs_quorum)", async (t) => {
  await node.control("no-quorum");
  const run = await node.pct(["start", "101"]);
  t.is(run.code, 255);
  t.is(run.stderr, "cluster not ready - no quorum?\n");
});

it("pct create without quorum dies with `cluster not ready - no quorum?` before anything is written (LXC.pm create_vm)", async (t) => {
  await node.control("no-quorum");
  const run = await node.pct(["create", "102", TEMPLATE, "--storage", "local-lvm"]);
  t.is(run.code, 255);
  t.is(run.stderr, "cluster not ready - no quorum?\n");
});

it("pct migrate without quorum dies with `cluster not ready - no quorum?` before the target is checked (LXC.pm migrate_vm)", async (t) => {
  await node.control("no-quorum");
  const run = await node.pct(["migrate", "101", "pve9"]);
  t.is(run.code, 255);
  t.is(run.stderr, "cluster not ready - no quorum?\n");
});

it("pct with pmxcfs stopped dies before its command, unable to load the access control list (RESTEnvironment.pm setup_default_cli_env, Cluster.pm cfs_update, IPCC.xs)", async (t) => {
  await node.control("stop");
  const run = await node.pct(["start", "101"]);
  t.is(run.code, 111, "an uncaught die exits with $!: ECONNREFUSED");
  t.is(
    run.stderr,
    "ipcc_send_rec[1] failed: Connection refused\nipcc_send_rec[2] failed: Connection refused\nipcc_send_rec[3] failed: Connection refused\nUnable to load access control list: Connection refused\n",
  );
});

it("qm with pmxcfs stopped dies the same way (qemu-server PVE/CLI/qm.pm setup_environment)", async (t) => {
  await node.control("stop");
  const run = await runExecutable(simQmBin, ["list"], node.env);
  t.is(run.code, 111);
  t.regex(run.stderr, /^Unable to load access control list: Connection refused$/m);
});

it("ha-manager and vzdump with pmxcfs stopped die the same way and leave /etc/pve empty (pve-ha-manager, pve-manager CLI setup_environment)", async (t) => {
  await node.control("stop");
  for (const [bin, args] of [
    [simHaManagerBin, ["add", "ct:101"]],
    [simVzdumpBin, ["101"]],
  ] as const) {
    const run = await runExecutable(bin, [...args], node.env);
    t.is(run.code, 111, run.stderr);
    t.regex(run.stderr, /^Unable to load access control list: Connection refused$/m);
  }
  t.deepEqual(readdirSync(node.pve), []);
});

it("a create that loses quorum midway cannot remove its placeholder: create_vm warns and the `lock: create` config stays (API2/LXC.pm create_vm, AbstractConfig.pm destroy_config)", async (t) => {
  const placeholder = path.join(cluster, "nodes/pve1/lxc/102.conf");
  const faults = JSON.stringify([{ command: "create", action: "slow", ms: 3000 }]);
  const run = runExecutable(simPctBin, ["create", "102", TEMPLATE, "--storage", "local-lvm"], {
    ...node.env,
    LOCKSTEP_SIM_FAULTS: faults,
  });
  t.true(await eventually(() => existsSync(placeholder), 10_000), "the placeholder was never written");
  await node.control("no-quorum");
  const result = await run;
  t.is(result.code, 255);
  t.regex(
    result.stderr,
    /^unable to create CT 102 - unable to open file '.*\/102\.conf\.tmp\.\d+' - Permission denied$/m,
  );
  t.regex(result.stdout, /^failed to remove config file: Permission denied$/m);
  t.is(readFileSync(placeholder, "utf8"), "lock: create\n");
});

it("pct set with quorum writes through the mount into the cluster directory", async (t) => {
  const run = await node.pct(["set", "101", "--memory", "1024"]);
  t.is(run.code, 0, run.stderr);
  t.regex(readFileSync(config, "utf8"), /^memory: 1024$/m);
});

test("a pct whose /etc/pve cannot be read dies as Perl dies (Tools.pm file_get_contents): the error in words, exit 255, no stack trace", async (t) => {
  const node = simNode(t);
  t.is((await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"])).code, 0);
  // What a pmxcfs that died under a running pct leaves: the config cannot be read.
  rmSync(node.config(101));
  mkdirSync(node.config(101));
  const run = await node.pct(["config", "101"]);
  t.is(run.code, 255);
  t.is(run.stderr, "read failed - Is a directory\n");
});

test("a config read in a running pct after pmxcfs stopped fails with the refused IPC, never `does not exist` (Cluster.pm ipcc_get_config, AbstractConfig.pm load_config)", async (t) => {
  const node = simNode(t);
  t.is((await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"])).code, 0);
  // What the running command meets: pmxcfs stopped, its mount gone (an empty /etc/pve).
  rmSync(node.config(101));
  writePmxcfsState(node.root, { state: "stopped", quorate: true, pid: null });
  const layout = simLayout(node.root, "pve1");
  t.throws(() => readConfig(layout, "pve1", 101), { message: "Connection refused" });
  writePmxcfsState(node.root, { state: "mounted", quorate: true, pid: null });
  t.throws(() => readConfig(layout, "pve1", 101), {
    message: "Configuration file 'nodes/pve1/lxc/101.conf' does not exist",
  });
});
