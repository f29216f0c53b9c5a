// The simulated pmxcfs's faults: hung (paused), down (stopped), without quorum. pve-cluster
// src/pmxcfs/pmxcfs.c (cfs_fuse_* return what the plugs give), cfs-plug-memdb.c
// tree_entry_stat and cfs-plug-link.c cfs_plug_link_getattr (modes with and without quorum),
// dcdb.c dcdb_send_fuse_message (EACCES without quorum).
import test from "ava";
import { SuiteScope } from "@lockstep/shared";
import { spawn } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fuseMountAt } from "../src/pmxcfs/mount-table.js";
import { ctConfig, PMXCFS_BIN, pmxcfsCluster, prepareFuse, unmountAll, type PmxcfsNode } from "./pmxcfs-harness.js";
import { eventually, runExecutable } from "./sim-harness.js";

const fuse = prepareFuse();
const it = fuse.ok ? test.serial : test.serial.skip;
if (!fuse.ok) console.log(`pmxcfs tests skipped: ${fuse.reason}`);

// The directories live as long as the file's tests, and stay when one failed.
const suite = new SuiteScope();
const { cluster, nodes } = pmxcfsCluster(["pve1"], suite);
const node = nodes[0] as PmxcfsNode;

test.before(async () => {
  if (!fuse.ok) return;
  writeFileSync(path.join(cluster, "nodes/pve1/lxc/101.conf"), ctConfig("web-1"));
  await node.control("mount");
});

test.afterEach.always(async (t) => {
  suite.noteResult(t);
  if (!fuse.ok) return;
  await node.control("resume").catch(() => undefined);
  await node.control("start");
  await node.control("quorum");
});

test.after.always(async (t) => {
  if (fuse.ok) t.true(await unmountAll(nodes), "a mount was left behind");
  await suite.close();
});

/** `cat` of a file on the mount, in its own process: resolves with its exit code and output. */
function catFile(file: string): { done: () => boolean; result: Promise<{ code: number | null; out: string }> } {
  let finished = false;
  const child = spawn("cat", [file], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const result = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on("close", (code) => ((finished = true), resolve({ code, out }))),
  );
  return { done: () => finished, result };
}

it("paused, a read of /etc/pve blocks until resumed, then completes (a hung pmxcfs)", async (t) => {
  await node.control("pause");
  const reader = catFile(path.join(node.pve, "lxc/101.conf"));
  t.false(await eventually(reader.done, 700), "the read finished while paused");
  await node.control("resume");
  t.true(await eventually(reader.done, 5000), "the read did not finish after resume");
  t.deepEqual(await reader.result, { code: 0, out: ctConfig("web-1") });
});

it("stopped, /etc/pve is an empty directory and no mount; start serves it again (pmxcfs down)", async (t) => {
  const stopped = await runExecutable(PMXCFS_BIN, ["stop"], node.env);
  t.is(stopped.code, 0, stopped.stderr);
  t.falsy(fuseMountAt(node.pve));
  t.deepEqual(readdirSync(node.pve), []);
  t.false(existsSync(path.join(node.pve, "lxc/101.conf")));
  await node.control("start");
  t.is(readFileSync(path.join(node.pve, "lxc/101.conf"), "utf8"), ctConfig("web-1"));
});

it("stopping a paused pmxcfs releases its blocked readers and leaves no mount", async (t) => {
  await node.control("pause");
  const reader = catFile(path.join(node.pve, "lxc/101.conf"));
  t.false(await eventually(reader.done, 300));
  await node.control("stop");
  t.true(await eventually(reader.done, 5000), "the blocked read never returned");
  t.not((await reader.result).code, 0);
  t.falsy(fuseMountAt(node.pve));
});

it("without quorum, directories are 0555, files 0440 and `local` loses 0200 (tree_entry_stat, cfs_plug_link_getattr)", async (t) => {
  const said = await runExecutable(PMXCFS_BIN, ["no-quorum"], node.env);
  t.is(said.code, 0, said.stderr);
  const mode = (p: string): number => lstatSync(path.join(node.pve, p)).mode & 0o7777;
  t.is(mode("nodes"), 0o555);
  t.is(mode("nodes/pve1/lxc/101.conf"), 0o440);
  t.is(mode("local"), 0o555);
  await node.control("quorum");
  t.is(mode("local"), 0o755);
});

it("without quorum, a write is refused with EACCES and nothing changes (dcdb_send_fuse_message)", async (t) => {
  await node.control("no-quorum");
  const create = t.throws(() => writeFileSync(path.join(node.pve, "lxc/102.conf"), ctConfig("new")));
  t.is((create as NodeJS.ErrnoException).code, "EACCES");
  const overwrite = t.throws(() => writeFileSync(path.join(node.pve, "lxc/101.conf"), ctConfig("changed")));
  t.is((overwrite as NodeJS.ErrnoException).code, "EACCES");
  t.is(readFileSync(path.join(cluster, "nodes/pve1/lxc/101.conf"), "utf8"), ctConfig("web-1"));
  t.false(existsSync(path.join(cluster, "nodes/pve1/lxc/102.conf")));
});

it("a node without quorum stays so when its pmxcfs restarts", async (t) => {
  await node.control("no-quorum");
  await node.control("stop");
  await node.control("start");
  t.is(lstatSync(path.join(node.pve, "local")).mode & 0o200, 0);
});

it("two controls of one node asked at once in one process both take effect, one after the other", async (t) => {
  const started = Date.now();
  const said = await Promise.all([node.control("no-quorum"), node.control("quorum")]);
  t.deepEqual(said, ["pmxcfs on pve1: no quorum (read-only)", "pmxcfs on pve1: quorate"]);
  // Before they took turns, the second one's synchronous flock wait stalled the first for 60 s.
  t.true(Date.now() - started < 30_000);
});

it("unmount puts the cluster layout's fallback links back and leaves no mount", async (t) => {
  await node.control("unmount");
  t.falsy(fuseMountAt(node.pve));
  symlinkSync("nodes/pve1", path.join(node.pve, "local"));
  await node.control("mount");
  t.truthy(fuseMountAt(node.pve));
  await node.control("unmount");
  t.is(readlinkOrNull(path.join(node.pve, "local")), "nodes/pve1");
  t.falsy(fuseMountAt(node.pve));
});

function readlinkOrNull(file: string): string | null {
  try {
    return readlinkSync(file);
  } catch {
    return null;
  }
}
