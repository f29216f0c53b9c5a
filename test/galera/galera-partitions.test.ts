// scripts/galera.sh with its nodes and proxy in network namespaces (LOCKSTEP_GALERA_NETNS), on
// the fault suite's network toolkit: partitions between Galera nodes and an isolated writer
// are real kernel drops. One cluster for the file (a start takes minutes); every fault is
// healed and the cluster settled again after each test.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import test from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { NOT_ROOT, rootTest } from "../fault-injection/network/support/root-only.js";
import { VirtualNetwork } from "../fault-injection/network/virtual-network.js";
import {
  GaleraCluster,
  GALERA_NODES,
  type GaleraNode,
  type GaleraPlacement,
  type GaleraStatus,
} from "../support/galera-cluster.js";
import { nodeName, withConnection } from "./support/galera-sql.js";

const GALERA_SH = fileURLToPath(new URL("../../scripts/galera.sh", import.meta.url));
const HOSTS = { n1: "db1", n2: "db2", n3: "db3", proxy: "dbproxy" } as const;
/** Galera evicts a node it cannot reach after evs.suspect_timeout (5 s); room for a loaded machine. */
const LEAVES_PRIMARY_MS = 30_000;
/** A write through the proxy once the writer is cut off: 3 failed checks, the eviction, then n2 (about 8 s measured on loopback). */
const FAILOVER_MS = 90_000;
/** A healed node rejoins by IST; the proxy takes n1 back after 20 passed checks (10 s). */
const SETTLE_MS = 180_000;

let network: VirtualNetwork;
let cluster: GaleraCluster;
let table = "";
let failed = false;

test.before(async (t) => {
  if (NOT_ROOT) return;
  t.timeout(20 * 60_000);
  network = await VirtualNetwork.create({ hosts: Object.values(HOSTS), log: (line) => t.log(line) });
  const started = Date.now();
  cluster = await GaleraCluster.start({ placement: placementIn(network) });
  t.log(`cluster started in ${((Date.now() - started) / 1000).toFixed(1)} s in ${cluster.dir}`);
  table = `lockstep.partition_test_${randomUUID().slice(0, 8)}`;
  await withConnection(cluster.url, (c) =>
    c.query(`CREATE TABLE ${table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v CHAR(36) NOT NULL UNIQUE)`),
  );
});

test.afterEach.always(async (t) => {
  if (!t.passed) failed = true;
  if (!cluster) return;
  t.timeout(SETTLE_MS + 60_000);
  await network.heal();
  try {
    await settled();
  } catch (err) {
    failed = true;
    throw err;
  }
});

test.after.always(async (t) => {
  t.timeout(5 * 60_000);
  if (cluster) {
    if (failed) t.log(`kept ${cluster.dir} (each node's error.log, the proxy's haproxy.log)`);
    await cluster.destroy(failed);
  }
  await network?.destroy();
});

/** Each node and the proxy in the network's host of the same role. */
function placementIn(net: VirtualNetwork): GaleraPlacement {
  const place = (host: string) => ({ namespace: net.namespace(host), address: net.address(host) });
  return { n1: place(HOSTS.n1), n2: place(HOSTS.n2), n3: place(HOSTS.n3), proxy: place(HOSTS.proxy) };
}

/** Polls `probe` until `done` holds, and answers that value; past `withinMs` throws with the last one seen. */
async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  withinMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`${what} not within ${withinMs} ms; last seen: ${JSON.stringify(value)}`);
    await sleep(500);
  }
}

/** All three nodes Synced and Primary, and the proxy writing to n1 again. */
async function settled(): Promise<GaleraStatus> {
  return eventually(
    () => cluster.status(),
    (s) => s.ok && s.writer === "n1",
    SETTLE_MS,
    "the cluster settled with n1 the writer",
  );
}

/** Inserts a new row through the proxy, trying again until one commits; answers the row, the node it landed on and when. */
async function writeThroughProxy(withinMs: number): Promise<{ v: string; node: string; ms: number; errors: string[] }> {
  const started = Date.now();
  const errors: string[] = [];
  for (;;) {
    const v = randomUUID();
    try {
      const node = await withConnection(
        cluster.url,
        async (c) => {
          await c.query(`INSERT INTO ${table} (v) VALUES (?)`, [v]);
          return nodeName(c);
        },
        20_000,
      );
      return { v, node, ms: Date.now() - started, errors };
    } catch (err) {
      errors.push(String((err as { code?: unknown }).code ?? (err as Error).message));
      if (Date.now() - started > withinMs)
        throw new Error(`no write through the proxy committed within ${withinMs} ms: ${errors.join(", ")}`);
      await sleep(500);
    }
  }
}

/** Whether node `node`, at its own address, holds row `v` (a causal read: it waits until the node has applied what the cluster committed). */
async function nodeHolds(node: GaleraNode, v: string): Promise<boolean> {
  return withConnection(await cluster.nodeUrl(node), async (c) => {
    await c.query("SET SESSION wsrep_sync_wait = 1");
    const [rows] = await c.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table} WHERE v = ?`, [v]);
    return Number(rows[0]!.n) === 1;
  });
}

/** The inode of a process's network namespace, or of a named one. */
function namespaceInode(file: string): number {
  return statSync(file).ino;
}

function runScript(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(GALERA_SH, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stderr });
    });
  });
}

/** A directory name no cluster has: the script must not create it when it refuses. */
function unusedDir(): string {
  return path.join(os.tmpdir(), `lockstep-galera-refused-${randomUUID().slice(0, 8)}`);
}

/** LOCKSTEP_GALERA_NETNS for this file's network with `change` applied to its parts. */
function placementVariable(change: (parts: Record<string, string>) => void): string {
  const placement = placementIn(network);
  const parts: Record<string, string> = Object.fromEntries(
    Object.entries(placement).map(([part, p]) => [part, `${p.namespace}@${p.address}`]),
  );
  change(parts);
  return Object.entries(parts)
    .map(([part, where]) => `${part}=${where}`)
    .join(",");
}

rootTest(
  "each node and the proxy run in the namespace they were placed in and are reached at its address",
  async (t) => {
    const placement = placementIn(network);
    const processes: [keyof GaleraPlacement, string][] = [
      ...GALERA_NODES.map((node): [GaleraNode, string] => [node, path.join(node, "mysqld.pid")]),
      ["proxy", "proxy/haproxy.pid"],
    ];
    for (const [part, pidFile] of processes) {
      const pid = readFileSync(path.join(cluster.dir, pidFile), "utf8").trim();
      t.is(
        namespaceInode(`/proc/${pid}/ns/net`),
        namespaceInode(`/run/netns/${placement[part].namespace}`),
        `${part} (pid ${pid})`,
      );
    }
    t.is(new URL(cluster.url).hostname, placement.proxy.address);
    for (const node of GALERA_NODES) {
      const url = await cluster.nodeUrl(node);
      t.is(new URL(url).hostname, placement[node].address);
      t.is(await withConnection(url, nodeName), node);
    }
    const status = await cluster.status();
    t.true(status.output.includes(`proxy ${placement.proxy.address}:${cluster.portBase} -> n1`), status.output);
  },
);

rootTest("a write through the proxy lands on n1 and is read back from each node at its own address", async (t) => {
  const write = await writeThroughProxy(30_000);
  t.is(write.node, "n1");
  for (const node of GALERA_NODES) t.true(await nodeHolds(node, write.v), node);
});

rootTest(
  "a node partitioned from the two others leaves the Primary component while the proxy keeps writing to n1, and is Synced Primary again after the partition heals",
  async (t) => {
    t.timeout(SETTLE_MS + 4 * 60_000);
    const faults = [await network.partition(HOSTS.n3, HOSTS.n1), await network.partition(HOSTS.n3, HOSTS.n2)];
    const cut = await eventually(
      () => cluster.status(),
      (s) => s.nodes.n3 !== "Synced Primary",
      LEAVES_PRIMARY_MS,
      "n3 leaving the Primary component",
    );
    t.log(`n3 cut off: ${cut.nodes.n3}`);
    const write = await writeThroughProxy(60_000);
    t.is(write.node, "n1");
    const during = await cluster.status();
    t.like(during.nodes, { n1: "Synced Primary", n2: "Synced Primary" });
    t.not(during.nodes.n3, "Synced Primary");
    for (const fault of faults) await fault.heal();
    const healed = Date.now();
    await eventually(
      () => cluster.status(),
      (s) => s.nodes.n3 === "Synced Primary",
      SETTLE_MS,
      "n3 Synced Primary after the heal",
    );
    t.log(`n3 Synced Primary ${((Date.now() - healed) / 1000).toFixed(1)} s after the heal`);
    t.true(await nodeHolds("n3", write.v), "n3 has the write made while it was cut off");
  },
);

rootTest(
  "the writer isolated from the other nodes and the proxy makes the proxy fail over to n2, and writes through it succeed",
  async (t) => {
    t.timeout(SETTLE_MS + 4 * 60_000);
    await network.isolate(HOSTS.n1);
    const write = await writeThroughProxy(FAILOVER_MS);
    t.log(
      `first write after isolating n1: on ${write.node} after ${(write.ms / 1000).toFixed(1)} s (${write.errors.length} failed tries: ${write.errors.join(", ")})`,
    );
    t.is(write.node, "n2");
    t.is((await cluster.status()).writer, "n2");
    // The proxy's checks may move the writer before n1's own group view notices it is alone
    // (Galera suspects a silent peer only after evs.suspect_timeout): n1 leaves later.
    await eventually(
      () => cluster.status(),
      (s) => s.nodes.n1 !== "Synced Primary",
      LEAVES_PRIMARY_MS,
      "n1 leaving the Primary component",
    );
    t.true(await nodeHolds("n3", write.v), "n3 has the write made on n2");
  },
);

rootTest("a placement naming a namespace that does not exist is refused by name before anything starts", async (t) => {
  const dir = unusedDir();
  const { code, stderr } = await runScript(["start"], {
    LOCKSTEP_GALERA_DIR: dir,
    LOCKSTEP_GALERA_NETNS: placementVariable((p) => (p.n2 = `lsnet-missing@${network.address(HOSTS.n2)}`)),
  });
  t.is(code, 1);
  t.regex(
    stderr,
    /LOCKSTEP_GALERA_NETNS: n2's namespace 'lsnet-missing' does not exist \(no \/run\/netns\/lsnet-missing\)/,
  );
  t.false(existsSync(dir));
});

rootTest("a placement with an address that is not dotted IPv4 is refused by name before anything starts", async (t) => {
  const dir = unusedDir();
  const { code, stderr } = await runScript(["start"], {
    LOCKSTEP_GALERA_DIR: dir,
    LOCKSTEP_GALERA_NETNS: placementVariable((p) => (p.n3 = `${network.namespace(HOSTS.n3)}@10.1.256.4`)),
  });
  t.is(code, 1);
  t.regex(stderr, /LOCKSTEP_GALERA_NETNS: n3's address '10\.1\.256\.4' is not a dotted IPv4 address/);
  t.false(existsSync(dir));
});

rootTest(
  "a placement with an address its namespace does not have is refused by name before anything starts",
  async (t) => {
    const dir = unusedDir();
    const { code, stderr } = await runScript(["start"], {
      LOCKSTEP_GALERA_DIR: dir,
      LOCKSTEP_GALERA_NETNS: placementVariable(
        (p) => (p.n1 = `${network.namespace(HOSTS.n1)}@${network.address(HOSTS.n2)}`),
      ),
    });
    t.is(code, 1);
    t.regex(
      stderr,
      new RegExp(
        `LOCKSTEP_GALERA_NETNS: n1's address ${network.address(HOSTS.n2).replaceAll(".", "\\.")} is not an address of namespace '${network.namespace(HOSTS.n1)}'`,
      ),
    );
    t.false(existsSync(dir));
  },
);

rootTest("a placement without the proxy is refused by name before anything starts", async (t) => {
  const dir = unusedDir();
  const { code, stderr } = await runScript(["start"], {
    LOCKSTEP_GALERA_DIR: dir,
    LOCKSTEP_GALERA_NETNS: placementVariable((p) => delete p.proxy),
  });
  t.is(code, 1);
  t.regex(stderr, /LOCKSTEP_GALERA_NETNS has no proxy=<netns>@<ipv4>/);
  t.false(existsSync(dir));
});

rootTest("a command without the placement the cluster was started with is refused, naming it", async (t) => {
  const { LOCKSTEP_GALERA_NETNS: placement, ...rest } = cluster.env;
  const { code, stderr } = await runScript(["url"], { ...rest, LOCKSTEP_GALERA_NETNS: "" });
  t.is(code, 1);
  t.true(
    stderr.includes(`the cluster in ${cluster.dir} was started with LOCKSTEP_GALERA_NETNS='${placement}'`),
    stderr,
  );
});
