import { readFileSync } from "node:fs";
import test from "ava";
import { readCalls, writeFaults } from "../src/index.js";
import { simNode, TEMPLATE } from "./sim-harness.js";

const row = (a: string, b: string, c: string, d: string): string =>
  `${a.padEnd(10)} ${b.padEnd(10)} ${c.padEnd(12)} ${d.padEnd(20)}\n`;

test("pct list prints nothing at all when there are no containers", async (t) => {
  const result = await simNode(t).pct(["list"]);
  t.is(result.code, 0);
  t.is(result.stdout, "");
});

test("pct list matches Proxmox's printf format byte for byte", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "102", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--hostname", "web-1", "--start", "1"]);
  t.is(
    (await node.pct(["list"])).stdout,
    row("VMID", "Status", "Lock", "Name") + row("101", "running", "", "web-1") + row("102", "stopped", "", "CT102"),
  );
});

test("pct listsnapshot prints Proxmox's tree with current last", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["snapshot", "101", "first", "--description", "line one\nline two"]);
  await node.pct(["snapshot", "101", "second"]);
  const lines = (await node.pct(["listsnapshot", "101"])).stdout.split("\n");
  // printf("%s %-Ns %-23s %s\n", prefix, name, time, description) with N = 30 - length(prefix)
  const time = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.source;
  t.regex(lines[0]!, new RegExp(`^\`-> ${"first".padEnd(27)} ${time} {4} line one$`));
  t.regex(lines[1]!, new RegExp(`^ \`-> ${"second".padEnd(26)} ${time} {4} no-description$`));
  t.is(lines[2], `  \`-> ${"current".padEnd(25)} ${"".padEnd(23)} You are here!`);
});

test("reserved snapshot names are refused", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  for (const name of ["current", "vzdump"]) {
    const result = await node.pct(["snapshot", "101", name]);
    t.is(result.code, 255);
    t.is(result.stderr, `unable to use snapshot name '${name}' (reserved name)\n`);
  }
});

test("a failed delsnapshot leaves lock: snapshot-delete", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["snapshot", "101", "base"]);
  writeFaults(node.root, [
    {
      command: "delsnapshot",
      action: "fail",
      message: "zfs error: cannot destroy 'rpool/data/subvol-101-disk-0@base': snapshot has dependent clones",
    },
  ]);
  const result = await node.pct(["delsnapshot", "101", "base"]);
  t.is(result.code, 255);
  t.regex(result.stderr, /dependent clones/);
  const config = readFileSync(node.config(101), "utf8");
  t.regex(config, /^lock: snapshot-delete$/m);
  t.regex(config, /^snapstate: delete$/m);
  t.is((await node.pct(["delsnapshot", "101", "base", "--force"])).stderr, "CT is locked (snapshot-delete)\n");
});

test("a missing container gets Proxmox's message", async (t) => {
  const result = await simNode(t).pct(["start", "555"]);
  t.is(result.code, 255);
  t.is(result.stderr, "Configuration file 'nodes/pve1/lxc/555.conf' does not exist\n");
});

test("an invalid VMID is a parameter verification error", async (t) => {
  const result = await simNode(t).pct(["status", "99"]);
  t.is(
    result.stderr,
    "400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n",
  );
});

test("the calls log records every invocation with its exit status", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["start", "999"]);
  const ends = readCalls(node.root)
    .filter((c) => c.event === "end")
    .map((c) => (c.event === "end" ? c.exitCode : -1));
  t.deepEqual(ends, [0, 255]);
});

// LXC/Config.pm write_pct_config writes each description line as '#' . encode_text($line);
// GuestHelpers.pm format_pending prints the description through encode_text too; both are
// PVE::ParseUtils encode_text: the UTF-8 bytes, control and hi-bit ones, '%' and ':' as %XX.
test("a description is stored and printed as Proxmox's encode_text writes it: UTF-8 bytes, '%' and ':' escaped", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--description", "Café: 100% ok\nline two"]);
  t.true(readFileSync(node.config(101), "utf8").startsWith("#Caf%C3%A9%3A 100%25 ok\n#line two\n"));
  t.regex((await node.pct(["config", "101"])).stdout, /^description: Caf%C3%A9%3A 100%25 ok%0Aline two$/m);
});
