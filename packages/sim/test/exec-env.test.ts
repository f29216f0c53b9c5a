// pct exec's environment: pve-container src/PVE/CLI/pct.pm exec (`--keep-env` default 1 on PVE 8
// and 9), pve-common src/PVE/CLIHandler.pm run_cli_handler (PATH), LXC attach.c
// lxc_attach_run_command (127 / 126).
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { simNode, TEMPLATE } from "./sim-harness.js";
import type { TestScope } from "@lockstep/shared";

async function running(t: TestScope) {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--start", "1"]);
  return node;
}

test("pct.pm exec: with the default keep-env the guest sees pct's environment and CLIHandler's PATH", async (t) => {
  const node = await running(t);
  const out = (await node.pct(["exec", "101", "--", "env"], { LOCKSTEP_PROBE: "leaks" })).stdout;
  t.regex(out, /^LOCKSTEP_PROBE=leaks$/m);
  t.regex(out, /^PATH=\/sbin:\/bin:\/usr\/sbin:\/usr\/bin$/m);
});

test("pct.pm exec: --keep-env 0 gives LXC's clean environment", async (t) => {
  const node = await running(t);
  const out = (await node.pct(["exec", "101", "--keep-env", "0", "--", "env"], { LOCKSTEP_PROBE: "leaks" })).stdout;
  t.is(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\ncontainer=lxc\n");
});

test("pct.pm exec: sh -c inherits the guest environment", async (t) => {
  const node = await running(t);
  const out = (await node.pct(["exec", "101", "--", "sh", "-c", "env"], { LOCKSTEP_PROBE: "x" })).stdout;
  t.regex(out, /^LOCKSTEP_PROBE=x$/m);
});

function installTool(root: string, dir: string, mode: number): void {
  const file = path.join(root, "var/lib/lxc/101/rootfs", dir, "mytool");
  writeFileSync(file, '# lockstep-sim: {"exit":0,"stdout":"ran\\n"}\n');
  chmodSync(file, mode);
}

test("attach.c: a command only in /usr/local/bin is not found with pct's PATH (exit 127)", async (t) => {
  const node = await running(t);
  installTool(node.root, "usr/local/bin", 0o755);
  const result = await node.pct(["exec", "101", "--", "mytool"]);
  t.is(result.code, 127);
  t.is((await node.pct(["exec", "101", "--keep-env", "0", "--", "mytool"])).code, 0);
});

test("attach.c: a command that cannot run exits 126", async (t) => {
  const node = await running(t);
  installTool(node.root, "usr/bin", 0o644);
  t.is((await node.pct(["exec", "101", "--", "mytool"])).code, 126);
});

test("attach.c: a missing command exits 127", async (t) => {
  const node = await running(t);
  t.is((await node.pct(["exec", "101", "--", "no-such-tool"])).code, 127);
});

// GNU coreutils env: what the agent runs inside the guest to give commands an explicit environment.
test("env -i -- NAME=VALUE cmd runs cmd with only that environment, found through its PATH", async (t) => {
  const node = await running(t);
  installTool(node.root, "usr/local/bin", 0o755);
  const out = await node.pct(
    ["exec", "101", "--keep-env", "0", "--", "env", "-i", "--", "PATH=/usr/local/bin:/usr/bin", "A=1", "env"],
    { LOCKSTEP_PROBE: "leaks" },
  );
  t.is(out.stdout, "PATH=/usr/local/bin:/usr/bin\nA=1\n");
  t.is((await node.pct(["exec", "101", "--", "env", "-i", "--", "PATH=/usr/local/bin", "mytool"])).stdout, "ran\n");
});

test("env exits 127 for a missing command and 126 for one that cannot run", async (t) => {
  const node = await running(t);
  installTool(node.root, "usr/local/bin", 0o644);
  const missing = await node.pct(["exec", "101", "--", "env", "-i", "--", "PATH=/usr/bin", "nothere"]);
  t.is(missing.code, 127);
  t.is(missing.stderr, "env: 'nothere': No such file or directory\n");
  t.is((await node.pct(["exec", "101", "--", "env", "-i", "--", "PATH=/usr/local/bin", "mytool"])).code, 126);
});
