import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { readCalls, writeFaults } from "../src/index.js";
import { existsSync } from "node:fs";
import { eventually, simNode, TEMPLATE } from "./sim-harness.js";
import { scratchDir, type TestScope } from "@lockstep/shared";

async function runningNode(t: TestScope) {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--start", "1"]);
  return node;
}

function localFile(t: TestScope, content: string): string {
  const file = path.join(scratchDir(t, "push-src"), "file");
  writeFileSync(file, content);
  return file;
}

// pve-container src/PVE/CLI/pct.pm, push: `die` under lock_config before fork_worker (audit D29).
test("push to a stopped container fails before any task, exit 255", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const result = await node.pct(["push", "101", localFile(t, "x"), "/etc/x"]);
  t.is(result.code, 255);
  t.false(readCalls(node.root).some((c) => c.event === "task-start" && c.upid.includes(":push_file:")));
  t.is(result.stderr, "can only push files to a running CT\n");
});

test("push into a missing directory exits 0 with the failure only on stderr", async (t) => {
  const node = await runningNode(t);
  const result = await node.pct(["push", "101", localFile(t, "x"), "/no/such/dir/x"]);
  t.is(result.code, 0);
  t.is(result.stderr, "failed to create file: /no/such/dir/x: No such file or directory\n");
});

test("a directory as push source leaves an empty file", async (t) => {
  const node = await runningNode(t);
  const result = await node.pct(["push", "101", os.tmpdir(), "/root/dir-as-file"]);
  t.is(result.code, 0);
  t.is((await node.pct(["exec", "101", "--", "stat", "-c", "%s", "/root/dir-as-file"])).stdout, "0\n");
});

test("sha256sum inside the container hashes the pushed file", async (t) => {
  const node = await runningNode(t);
  await node.pct(["push", "101", localFile(t, "hello\n"), "/etc/app.conf"]);
  const result = await node.pct(["exec", "101", "--", "sha256sum", "/etc/app.conf"]);
  t.is(result.stdout, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  /etc/app.conf\n");
});

test("exec reads the container's files, never the host's", async (t) => {
  const node = await runningNode(t);
  const shadow = await node.pct(["exec", "101", "--", "cat", "/../../../etc/shadow"]);
  t.is(shadow.stdout, readFileSync(path.join(node.root, "var/lib/lxc/101/rootfs/etc/shadow"), "utf8"));
  const escape = await node.pct([
    "exec",
    "101",
    "--",
    "sh",
    "-c",
    "ln -s /etc /x; cat /root/../../../proc/self/status",
  ]);
  t.not(escape.code, 0);
});

test("the container's shell runs guard scripts and refuses what it cannot do", async (t) => {
  const node = await runningNode(t);
  t.is(
    (await node.pct(["exec", "101", "--", "sh", "-c", "test -f /etc/hostname && echo yes || echo no"])).stdout,
    "yes\n",
  );
  t.is((await node.pct(["exec", "101", "--", "sh", "-c", "! command -v docker"])).code, 0);
  const piped = await node.pct(["exec", "101", "--", "sh", "-c", "cat /etc/hostname | wc -l"]);
  t.is(piped.code, 2);
  t.regex(piped.stderr, /unsupported by the simulator's shell: pipes/);
});

test("sh <file> runs a script from the container line by line; set -e stops at the first failure", async (t) => {
  const node = await runningNode(t);
  const script = (text: string): string => localFile(t, text);
  await node.pct([
    "push",
    "101",
    script("#!/bin/sh\n# prepare\n\necho one # done\nfalse\necho two > /tmp/two\ncat /tmp/two\n"),
    "/root/plain.sh",
  ]);
  await node.pct([
    "push",
    "101",
    script("set -e\necho one\nfalse && echo skipped\nfalse\necho never\n"),
    "/root/strict.sh",
  ]);
  const plain = await node.pct(["exec", "101", "--", "sh", "/root/plain.sh"]);
  t.is(plain.stdout, "one\ntwo\n");
  t.is(plain.code, 0, "the status is the last command's");
  const strict = await node.pct(["exec", "101", "--", "/bin/sh", "/root/strict.sh", "arg"]);
  t.is(strict.stdout, "one\n");
  t.is(strict.code, 1);
  const missing = await node.pct(["exec", "101", "--", "sh", "/root/none.sh"]);
  t.is(missing.code, 2);
  t.is(missing.stderr, "sh: 0: cannot open /root/none.sh: No such file\n");
});

test("exec in a stopped container fails as pct does", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const result = await node.pct(["exec", "101", "--", "true"]);
  t.is(result.code, 255);
  t.is(result.stderr, "container '101' not running!\n");
});

test("with delayed visibility a pushed unit is not there for daemon-reload, then appears", async (t) => {
  const node = await runningNode(t);
  // Long enough that two more pct processes finish first even on a loaded CI machine (6 s was not).
  writeFaults(node.root, [{ command: "push", action: "delay-visibility", ms: 15_000 }]);
  const unit = localFile(t, "[Service]\nExecStart=/bin/true\n");
  t.is((await node.pct(["push", "101", unit, "/etc/systemd/system/app.service"])).code, 0);
  await node.pct(["exec", "101", "--", "systemctl", "daemon-reload"]);
  const enable = await node.pct(["exec", "101", "--", "systemctl", "enable", "app.service"]);
  t.is(enable.code, 1);
  t.is(enable.stderr, "Failed to enable unit: Unit file app.service does not exist.\n");
  t.true(
    await eventually(
      () => existsSync(path.join(node.root, "var/lib/lxc/101/rootfs/etc/systemd/system/app.service")),
      30_000,
    ),
    "the file lands after its delay",
  );
  await node.pct(["exec", "101", "--", "systemctl", "daemon-reload"]);
  t.is((await node.pct(["exec", "101", "--", "systemctl", "enable", "--now", "app.service"])).code, 0);
  t.is((await node.pct(["exec", "101", "--", "systemctl", "is-active", "app.service"])).stdout, "active\n");
});

test("start of a unit systemd has not loaded fails until daemon-reload", async (t) => {
  const node = await runningNode(t);
  await node.pct(["push", "101", localFile(t, "[Service]\n"), "/etc/systemd/system/late.service"]);
  const start = await node.pct(["exec", "101", "--", "systemctl", "start", "late.service"]);
  t.is(start.code, 5);
  t.is(start.stderr, "Failed to start late.service: Unit late.service not found.\n");
  await node.pct(["exec", "101", "--", "systemctl", "daemon-reload"]);
  t.is((await node.pct(["exec", "101", "--", "systemctl", "start", "late.service"])).code, 0);
});

test("installing docker.io gives a docker command and an active service", async (t) => {
  const node = await runningNode(t);
  t.is((await node.pct(["exec", "101", "--", "apt-get", "install", "-y", "docker.io"])).code, 0);
  t.is(
    (await node.pct(["exec", "101", "--", "sh", "-c", "command -v docker && systemctl is-active docker"])).stdout,
    "/usr/bin/docker\nactive\n",
  );
});
