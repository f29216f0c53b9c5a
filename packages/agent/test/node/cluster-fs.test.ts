import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import test from "ava";
import { createMemoryLogger, scratchDir, systemClock, type TestScope } from "@lockstep/shared";
import { HypervisorUnresponsiveError } from "../../src/errors.js";
import { ClusterFs, clusterFsStateOf, type ClusterFsStatus } from "../../src/node/cluster-fs.js";

// Until the simulator's FUSE pmxcfs is merged, a FIFO stands in for a hung pmxcfs: opening it
// for reading blocks in the kernel until a writer comes, as a read of a hung FUSE mount blocks
// until pmxcfs answers. Both are ended by SIGKILL, which is how the port frees its reader.

/** A node's /etc/pve as pmxcfs shows it when mounted: the `local` link to the node's directory. */
function mountedPve(t: TestScope): string {
  const pve = path.join(scratchDir(t, "cluster-fs"), "etc/pve");
  mkdirSync(path.join(pve, "nodes/pve1/lxc"), { recursive: true });
  symlinkSync("nodes/pve1", path.join(pve, "local"));
  symlinkSync("nodes/pve1/lxc", path.join(pve, "lxc"));
  return pve;
}

function port(
  t: { teardown(fn: () => Promise<void>): void },
  pveDir: string,
  changes: ClusterFsStatus[] = [],
): ClusterFs {
  const fs = new ClusterFs({
    pveDir,
    timeoutMs: 500,
    probeTimeoutMs: 300,
    maxStuckReaders: 2,
    clock: systemClock,
    logger: createMemoryLogger(),
    onChange: (s) => changes.push(s),
  });
  t.teardown(() => fs.close());
  return fs;
}

function hungFile(pve: string, vmid: number): string {
  const file = path.join(pve, "lxc", `${vmid}.conf`);
  execFileSync("mkfifo", [file]);
  return file;
}

test("a file of a mounted /etc/pve is read through the port", async (t) => {
  const pve = mountedPve(t);
  writeFileSync(path.join(pve, "lxc/101.conf"), "hostname: ct101\n");
  t.is(await port(t, pve).readFile(path.join(pve, "lxc/101.conf")), "hostname: ct101\n");
});

test("a process whose only pending work is the first probe waits for its answer (the agent at start-up, before any server)", (t) => {
  const pve = mountedPve(t);
  const module = new URL("../../src/node/cluster-fs.ts", import.meta.url).href;
  const script = `import { ClusterFs } from ${JSON.stringify(module)};
    import { createMemoryLogger, systemClock } from "@lockstep/shared";
    const fs = new ClusterFs({ pveDir: ${JSON.stringify(pve)}, timeoutMs: 5000, probeTimeoutMs: 5000, maxStuckReaders: 1, clock: systemClock, logger: createMemoryLogger() });
    console.log((await fs.probe()).state);
    await fs.close();`;
  const out = execFileSync(process.execPath, ["--import=tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 60_000,
  });
  t.is(out, "ok\n");
});

test("a missing file of a mounted, quorate /etc/pve is null: proven missing", async (t) => {
  const pve = mountedPve(t);
  t.is(await port(t, pve).readFile(path.join(pve, "lxc/999.conf")), null);
});

test("a file missing at the first look but there a moment later is read, not missing (libfuse hide_node renames it aside while pmxcfs replaces it)", async (t) => {
  const pve = mountedPve(t);
  const file = path.join(pve, "lxc/101.conf");
  // The moment between the two looks is when the file comes back, as the second rename of a replace lands.
  const clock = {
    now: () => Date.now(),
    sleep: async (ms: number) => (writeFileSync(file, "hostname: ct101\n"), systemClock.sleep(ms)),
  };
  const fs = new ClusterFs({
    pveDir: pve,
    timeoutMs: 500,
    probeTimeoutMs: 300,
    maxStuckReaders: 2,
    clock,
    logger: createMemoryLogger(),
  });
  t.teardown(() => fs.close());
  t.is(await fs.readFile(file), "hostname: ct101\n");
});

test("a missing file of an /etc/pve without its local link (pmxcfs stopped) is HYPERVISOR_UNRESPONSIVE, never null", async (t) => {
  const pve = mountedPve(t);
  rmSync(path.join(pve, "local"));
  const fs = port(t, pve);
  await t.throwsAsync(fs.readFile(path.join(pve, "lxc/999.conf")), {
    instanceOf: HypervisorUnresponsiveError,
    message: /not-mounted.*pmxcfs\) not mounted/,
  });
  t.is(fs.status().state, "not-mounted");
});

test("an empty /etc/pve directory (pmxcfs stopped) probes as not-mounted, as check_cfs_is_mounted decides", async (t) => {
  const pve = path.join(scratchDir(t, "cluster-fs"), "etc/pve");
  mkdirSync(pve, { recursive: true });
  t.like(await port(t, pve).probe(), { state: "not-mounted" });
});

test("a local link without the owner's write bit is no-quorum, as check_cfs_quorum decides (cfs-plug-link.c: 0555 without quorum)", (t) => {
  t.like(clusterFsStateOf("/etc/pve/local", { symlink: true, directory: false, mode: 0o120555 }), {
    state: "no-quorum",
  });
  t.like(clusterFsStateOf("/etc/pve/local", { symlink: true, directory: false, mode: 0o120777 }), { state: "ok" });
  t.like(clusterFsStateOf("/etc/pve/local", { symlink: false, directory: true, mode: 0o40755 }), {
    state: "not-mounted",
  });
});

test("a read that hangs times out, marks the filesystem unresponsive and is HYPERVISOR_UNRESPONSIVE", async (t) => {
  const pve = mountedPve(t);
  const changes: ClusterFsStatus[] = [];
  const fs = port(t, pve, changes);
  const started = Date.now();
  await t.throwsAsync(fs.readFile(hungFile(pve, 101)), {
    instanceOf: HypervisorUnresponsiveError,
    message: /did not answer within 500 ms/,
  });
  t.true(Date.now() - started < 3_000);
  t.is(fs.status().state, "unresponsive");
  t.deepEqual(
    changes.map((s) => s.state),
    ["unresponsive"],
  );
});

test("while reads hang, libuv's pool keeps serving the rest of the process", async (t) => {
  const pve = mountedPve(t);
  const fs = new ClusterFs({
    pveDir: pve,
    timeoutMs: 10_000,
    probeTimeoutMs: 300,
    maxStuckReaders: 2,
    clock: systemClock,
    logger: createMemoryLogger(),
  });
  t.teardown(() => fs.close());
  const hung = hungFile(pve, 101);
  // More hung reads than libuv has threads (4): were any of them on the pool, the local read
  // below could not finish before they end.
  let ended = false;
  const stuck = Promise.all(Array.from({ length: 6 }, () => fs.readFile(hung).catch(() => "failed"))).finally(
    () => (ended = true),
  );
  await readFile(new URL(import.meta.url), "utf8");
  t.false(ended, "the local read finished while every read of /etc/pve still hung");
  await fs.close();
  t.deepEqual(await stuck, Array(6).fill("failed"));
});

test("after a hung read, another file is read again once a probe finds /etc/pve mounted", async (t) => {
  const pve = mountedPve(t);
  writeFileSync(path.join(pve, "lxc/102.conf"), "hostname: ct102\n");
  const fs = port(t, pve);
  await t.throwsAsync(fs.readFile(hungFile(pve, 101)));
  t.is(await fs.readFile(path.join(pve, "lxc/102.conf")), "hostname: ct102\n");
  t.is(fs.status().state, "ok");
});

test("a write replaces the file through a temporary file and a rename, leaving nothing else behind", async (t) => {
  const pve = mountedPve(t);
  const file = path.join(pve, "lxc/101.conf");
  writeFileSync(file, "hostname: old\n");
  await port(t, pve).writeFile(file, "hostname: new\n");
  t.is(readFileSync(file, "utf8"), "hostname: new\n");
  t.deepEqual(readdirSync(path.join(pve, "lxc")), ["101.conf"]);
});
