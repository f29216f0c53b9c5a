// pct mount / unmount / fstrim: pve-container src/PVE/CLI/pct.pm mount, unmount, fstrim, with
// pve-guest-common src/PVE/AbstractConfig.pm set_lock / remove_lock.
import { readFileSync } from "node:fs";
import test from "ava";
import { eventually, lockIsFree, simNode, TEMPLATE } from "./sim-harness.js";

const lockOf = (file: string): string | undefined => /^lock: (.*)$/m.exec(readFileSync(file, "utf8"))?.[1];

test("pct.pm mount: prints the rootfs path and leaves lock: mounted with no flock held", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const result = await node.pct(["mount", "101"]);
  t.is(result.code, 0);
  t.is(result.stdout, "mounted CT 101 in '/var/lib/lxc/101/rootfs'\n");
  t.is(lockOf(node.config(101)), "mounted");
  t.true(lockIsFree(node.lockFile(101)));
});

test("pct.pm mount: a mounted CT refuses other operations with CT is locked (mounted)", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["mount", "101"]);
  const result = await node.pct(["set", "101", "--cores", "2"]);
  t.is(result.code, 255);
  t.is(result.stderr, "CT is locked (mounted)\n");
});

test("pct.pm unmount: removes lock: mounted", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["mount", "101"]);
  t.is((await node.pct(["unmount", "101"])).code, 0);
  t.is(lockOf(node.config(101)), undefined);
});

test("AbstractConfig.pm remove_lock: unmount of an unlocked CT fails with Proxmox's text", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const result = await node.pct(["unmount", "101"]);
  t.is(result.code, 255);
  t.is(result.stderr, "no lock found trying to remove 'mounted'  lock\n");
});

test("pct.pm fstrim: lock: fstrim while it runs, no flock and no task, removed at the end", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const run = node.pct(["fstrim", "101"], { LOCKSTEP_SIM_FSTRIM_MS: "1500" });
  t.true(await eventually(() => lockOf(node.config(101)) === "fstrim", 3000));
  t.true(lockIsFree(node.lockFile(101)));
  t.false(readFileSync(`${node.root}/var/log/pve/tasks/active`, "utf8").includes(":fstrim:"));
  const result = await run;
  t.is(result.stdout, "/var/lib/lxc/101/rootfs/: 0 B (0 bytes) trimmed\n");
  t.is(lockOf(node.config(101)), undefined);
});
