// The Galera topology as scripts/galera.sh runs it: three real mariadbd nodes with wsrep on
// loopback and HAProxy in front sending every connection to one writer. One cluster of the
// file's own (temporary directory, own ports), driven through the script's subcommands; the
// tests run in order, and the one that kills the writer leaves it down for the next two.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { GaleraCluster, type GaleraNode } from "../support/galera-cluster.js";
import { createTestDatabase } from "../../packages/api/test/support/test-database.js";
import { connectBounded, nodeName, withConnection } from "./support/galera-sql.js";

// Starting mariadbd as the mysql user and HAProxy as haproxy needs root; CI runs as root and
// must never skip this.
const canRun = process.getuid?.() === 0 || process.env.CI === "true";
const serial = canRun ? test.serial : test.serial.skip;

/** How long new connections through the proxy may fail after the writer dies (docs/galera.md has the measured time). */
const FAILOVER_BOUND_MS = 30_000;
/** How long the proxy may take to see a change of a node's state (down: 3 failed checks, about 2 s; up: 20 passed, 10 s). */
const PROXY_SEES_MS = 30_000;

let cluster: GaleraCluster;
let failed = false;
let table = "";

test.before(async (t) => {
  if (!canRun) return;
  t.timeout(20 * 60_000);
  const started = Date.now();
  cluster = await GaleraCluster.start();
  t.log(`cluster started in ${((Date.now() - started) / 1000).toFixed(1)} s (ports from ${cluster.portBase})`);
  table = `lockstep.galera_test_${randomUUID().slice(0, 8)}`;
  await withConnection(cluster.url, (c) =>
    c.query(`CREATE TABLE ${table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v CHAR(36) NOT NULL UNIQUE)`),
  );
});

test.afterEach.always((t) => {
  if (!t.passed) failed = true;
});

test.after.always(async (t) => {
  if (!cluster) return;
  t.timeout(5 * 60_000);
  if (failed) t.log(`kept ${cluster.dir} (each node's error.log, the proxy's haproxy.log)`);
  await cluster.destroy(failed);
});

serial("the proxy's URL reaches n1, Synced in the Primary component, with all three nodes Synced", async (t) => {
  const status = await cluster.status();
  t.true(status.ok, status.output);
  t.deepEqual(status.nodes, { n1: "Synced Primary", n2: "Synced Primary", n3: "Synced Primary" });
  await withConnection(cluster.url, async (c) => {
    t.is(await nodeName(c), "n1");
    const [rows] = await c.query<RowDataPacket[]>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_cluster_size')",
    );
    t.deepEqual(Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value])), {
      wsrep_cluster_size: "3",
      wsrep_cluster_status: "Primary",
      wsrep_local_state_comment: "Synced",
    });
  });
});

serial("a test database is made empty through the proxy, on the writer, and drop removes it", async (t) => {
  const db = await createTestDatabase(cluster.url);
  const name = new URL(db.url).pathname.slice(1);
  try {
    const [tables] = await db.pool.query<RowDataPacket[]>("SHOW TABLES");
    t.is(tables.length, 0);
    const [rows] = await db.pool.query<RowDataPacket[]>("SELECT @@wsrep_node_name AS node, DATABASE() AS db");
    t.deepEqual({ ...rows[0] }, { node: "n1", db: name });
  } finally {
    await db.drop();
  }
  const [left] = await withConnection(cluster.url, (c) => c.query<RowDataPacket[]>("SHOW DATABASES LIKE ?", [name]));
  t.is(left.length, 0);
});

serial("a write through the proxy is seen at once on both other nodes by reads with wsrep_sync_wait=1", async (t) => {
  t.timeout(5 * 60_000);
  const writer = await connectBounded(cluster.url);
  const readers = await Promise.all(
    (["n2", "n3"] as const).map(async (node) => connectBounded(await cluster.nodeUrl(node))),
  );
  try {
    for (const reader of readers) await reader.query("SET SESSION wsrep_sync_wait = 1");
    let misses = 0;
    // About 2% of such reads miss the write without wsrep_sync_wait (docs/galera.md).
    for (let i = 0; i < 100; i++) {
      const v = randomUUID();
      await writer.query(`INSERT INTO ${table} (v) VALUES (?)`, [v]);
      for (const reader of readers) {
        const [rows] = await reader.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table} WHERE v = ?`, [v]);
        if (Number(rows[0]!.n) !== 1) misses++;
      }
    }
    t.is(misses, 0);
  } finally {
    await Promise.all([writer, ...readers].map((c) => c.end().catch(() => undefined)));
  }
});

/** A connection to n1 that desynced it, kept until the next test makes it Synced again. */
let desyncedBy: Connection | undefined;

serial("a writer that answers but is not Synced (desynced) takes no new connections: they go to n2", async (t) => {
  t.timeout(2 * 60_000);
  desyncedBy = await connectBounded(await cluster.nodeUrl("n1"));
  await desyncedBy.query("SET GLOBAL wsrep_desync = ON");
  const moved = await waitForWriter(cluster.url, (name) => name === "n2", PROXY_SEES_MS);
  t.log(`new connections went to n2 ${moved} ms after n1 was desynced`);
  const [rows] = await desyncedBy.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'");
  t.is(rows[0]!.Value, "Donor/Desynced", "n1 still answers, only not Synced");
});

serial("once n1 is Synced again new connections go back to it, and those on the backup are closed", async (t) => {
  t.timeout(2 * 60_000);
  const onBackup = await connectBounded(cluster.url);
  try {
    t.is(await nodeName(onBackup), "n2");
    await desyncedBy!.query("SET GLOBAL wsrep_desync = OFF");
    const back = await waitForWriter(cluster.url, (name) => name === "n1", PROXY_SEES_MS);
    t.log(`new connections went back to n1 ${back} ms after it was Synced again`);
    // HAProxy closes the backup's connections as it marks n1 up, before sending it any.
    await t.throwsAsync(onBackup.query("SELECT 1"));
  } finally {
    onBackup.destroy();
    await desyncedBy?.query("SET GLOBAL wsrep_desync = OFF").catch(() => undefined);
    await desyncedBy?.end().catch(() => undefined);
  }
});

let killed: GaleraNode;

serial(
  `killing the writer moves new proxy connections to a surviving node within ${FAILOVER_BOUND_MS / 1000} s, with every committed write there`,
  async (t) => {
    t.timeout(3 * 60_000);
    const committed = Array.from({ length: 50 }, () => randomUUID());
    await withConnection(cluster.url, async (c) => {
      for (const v of committed) await c.query(`INSERT INTO ${table} (v) VALUES (?)`, [v]);
    });
    killed = await cluster.killWriter();
    t.is(killed, "n1");
    const { node, ms, failures } = await writeThroughProxy(FAILOVER_BOUND_MS);
    t.log(
      `failover: a write through the proxy committed on ${node} ${ms} ms after ${killed} was killed; failed attempts before: ${JSON.stringify(failures)}`,
    );
    t.not(node, killed);
    const seen = await withConnection(cluster.url, async (c) => {
      await c.query("SET SESSION wsrep_sync_wait = 1");
      const [rows] = await c.query<RowDataPacket[]>(`SELECT v FROM ${table} WHERE v IN (?)`, [committed]);
      return rows.length;
    });
    t.is(seen, committed.length);
  },
);

serial("status fails and names the killed node as down", async (t) => {
  const status = await cluster.status();
  t.false(status.ok);
  t.is(status.nodes[killed], "down");
  t.not(status.writer, killed);
});

serial("the killed node restarts, rejoins Synced and holds every write made while it was down", async (t) => {
  t.timeout(6 * 60_000);
  const started = Date.now();
  await cluster.node(killed, "start");
  t.log(`${killed} rejoined Synced in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const status = await cluster.status();
  t.deepEqual(status.nodes, { n1: "Synced Primary", n2: "Synced Primary", n3: "Synced Primary" });
  const [onRejoined, onWriter] = await Promise.all(
    [cluster.nodeUrl(killed), cluster.nodeUrl("n2")].map((url) =>
      url.then((u) => withConnection(u, (c) => tableDigest(c))),
    ),
  );
  t.deepEqual(onRejoined, onWriter);
});

serial("a node stopped cleanly starts again and rejoins Synced", async (t) => {
  t.timeout(6 * 60_000);
  await cluster.node("n3", "stop");
  t.is((await cluster.status()).nodes.n3, "down");
  // Retried: the proxy may be handing the writer's place back to the rejoined n1 meanwhile.
  await writeThroughProxy(FAILOVER_BOUND_MS);
  await cluster.node("n3", "start");
  const status = await cluster.status();
  t.is(status.nodes.n3, "Synced Primary");
  const [onN3, onN1] = await Promise.all(
    ["n3", "n1"].map((node) =>
      cluster.nodeUrl(node as GaleraNode).then((u) => withConnection(u, (c) => tableDigest(c))),
    ),
  );
  t.deepEqual(onN3, onN1);
});

serial("a paused writer loses its place, and once resumed takes no write before it has really rejoined", async (t) => {
  t.timeout(5 * 60_000);
  await waitForWriter(cluster.url, (name) => name === "n1", PROXY_SEES_MS);
  await cluster.node("n1", "pause");
  const { node, ms } = await writeThroughProxy(FAILOVER_BOUND_MS);
  t.log(`a write through the proxy committed on ${node} ${ms} ms after n1 was paused`);
  t.not(node, "n1");
  // Resumed only once the others have evicted it, n1 still reports Synced and Primary for some
  // seconds; the proxy must not hand it writes in that time.
  const n2 = await cluster.nodeUrl("n2");
  await waitUntil(
    async () => (await withConnection(n2, clusterSize)) === 2,
    60_000,
    "n2 and n3 never evicted the paused n1",
  );
  await cluster.node("n1", "resume");
  const resumed = Date.now();
  const refusals: string[] = [];
  let back = false;
  while (!back && Date.now() - resumed < 60_000) {
    back = await withConnection(cluster.url, async (c) => {
      await c.query(`INSERT INTO ${table} (v) VALUES (?)`, [randomUUID()]);
      return (await nodeName(c)) === "n1";
    }).catch((err: { errno?: number; code?: string; message: string }) => {
      // A server's refusal (1047 not prepared, 1180 not in the Primary component) is the failure
      // looked for; a connection the proxy closes as it hands the writer's place back is not.
      if (err.errno !== undefined) refusals.push(`${err.errno} ${err.message}`);
      return false;
    });
    await sleep(200);
  }
  t.log(`new connections went back to n1 ${Date.now() - resumed} ms after it was resumed`);
  t.deepEqual(refusals, []);
  t.true(back, "n1 never took the writer's place back");
});

serial("the stopped cluster starts again from the node safe to bootstrap, with its data", async (t) => {
  t.timeout(15 * 60_000);
  const before = await withConnection(cluster.url, (c) => tableDigest(c));
  await cluster.stop();
  // Stopped one at a time, n3 first: n1 left last and is the one safe to bootstrap.
  t.deepEqual(
    (["n1", "n2", "n3"] as const).map((node) => /^safe_to_bootstrap: 1$/m.test(cluster.grastate(node))),
    [true, false, false],
  );
  const started = Date.now();
  await cluster.start();
  t.log(`the stopped cluster started again in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const status = await cluster.status();
  t.true(status.ok, status.output);
  t.is(status.writer, "n1");
  t.deepEqual(await withConnection(cluster.url, (c) => tableDigest(c)), before);
});

serial("a cluster whose nodes all crashed starts again from the most advanced node, not the first", async (t) => {
  t.timeout(15 * 60_000);
  await cluster.node("n1", "kill");
  // Only n2 and n3 commit this, so they are ahead of n1 when all three crash.
  await writeThroughProxy(FAILOVER_BOUND_MS);
  const before = await withConnection(cluster.url, (c) => tableDigest(c));
  await cluster.node("n2", "kill");
  await cluster.node("n3", "kill");
  t.deepEqual(
    (["n1", "n2", "n3"] as const).map((node) => /^safe_to_bootstrap: 1$/m.test(cluster.grastate(node))),
    [false, false, false],
  );
  const started = Date.now();
  await cluster.start();
  t.log(`the crashed cluster started again in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.deepEqual(
    (["n1", "n2", "n3"] as const).filter((node) => commandLine(node).includes("--wsrep-new-cluster")),
    ["n2"],
    "n2, the first of the most advanced, started the new primary component",
  );
  const status = await cluster.status();
  t.true(status.ok, status.output);
  t.deepEqual(await withConnection(await cluster.nodeUrl("n1"), (c) => tableDigest(c)), before);
});

/**
 * Writes one row through the proxy on a new connection, retrying (as a client does across a
 * failover) until one commits; returns the node it committed on and the ms it took.
 */
async function writeThroughProxy(
  boundMs: number,
): Promise<{ node: string; ms: number; failures: Record<string, number> }> {
  const started = Date.now();
  const failures: Record<string, number> = {};
  while (Date.now() - started < boundMs) {
    const node = await withConnection(
      cluster.url,
      async (c) => {
        await c.query(`INSERT INTO ${table} (v) VALUES (?)`, [randomUUID()]);
        return nodeName(c);
      },
      10_000,
    ).catch((err: { code?: string; message: string }) => {
      const reason = err.code ?? err.message;
      failures[reason] = (failures[reason] ?? 0) + 1;
      return null;
    });
    if (node !== null) return { node, ms: Date.now() - started, failures };
    await sleep(100);
  }
  throw new Error(
    `no write through the proxy committed within ${boundMs} ms; failed attempts: ${JSON.stringify(failures)}`,
  );
}

async function clusterSize(c: Connection): Promise<number> {
  const [rows] = await c.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'");
  return Number(rows[0]!.Value);
}

async function waitUntil(condition: () => Promise<boolean>, boundMs: number, failure: string): Promise<void> {
  const started = Date.now();
  while (!(await condition().catch(() => false))) {
    if (Date.now() - started > boundMs) throw new Error(`${failure} (waited ${boundMs} ms)`);
    await sleep(200);
  }
}

/** A running node's mariadbd arguments. */
function commandLine(node: GaleraNode): string[] {
  const pid = readFileSync(path.join(cluster.dir, node, "mysqld.pid"), "utf8").trim();
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
}

/** Opens new connections through the proxy until one lands on a node `wanted` accepts; returns the ms it took. */
async function waitForWriter(url: string, wanted: (name: string) => boolean, boundMs: number): Promise<number> {
  const started = Date.now();
  let last = "";
  while (Date.now() - started < boundMs) {
    last = await withConnection(url, nodeName, 5_000).catch((err: Error) => err.message);
    if (wanted(last)) return Date.now() - started;
    await sleep(200);
  }
  throw new Error(`new connections through the proxy still land on ${last} after ${boundMs} ms`);
}

/** The rows' count and a checksum, read with wsrep_sync_wait so that the node has applied all it received. */
async function tableDigest(c: Connection): Promise<{ rows: number; checksum: string }> {
  await c.query("SET SESSION wsrep_sync_wait = 1");
  const [rows] = await c.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(v)), 0) AS checksum FROM ${table}`,
  );
  return { rows: Number(rows[0]!.n), checksum: String(rows[0]!.checksum) };
}
