import test from "ava";
import { HostedMariaDb } from "./hosted-mariadb.js";
import type { HostProcess } from "./support/host-process.js";
import { Probes } from "./support/probes.js";
import { NOT_ROOT, rootTest } from "./support/root-only.js";
import { VirtualNetwork } from "./virtual-network.js";

// The building block of "an API cut off from the database": MariaDB in host `db`, a Node
// process with mysql2 in host `api`, the partition between them.
const CONNECT_TIMEOUT_MS = 3000;
const QUERY_TIMEOUT_MS = 2000;
// A probe answers through a Node process of its own: room for a loaded machine, not for a hang
// (TCP would retry a lost connect for two minutes, and a query on an open one for far longer).
const SLACK_MS = 5000;
// A first start of the server initialises its data directory.
const LINE_MS = 60_000;

interface Outcome {
  readonly event: "connect" | "query";
  readonly ok: boolean;
  readonly ms: number;
  readonly code: string | null;
}

let network: VirtualNetwork;
let db: HostedMariaDb;
let probes: Probes;

test.before(async (t) => {
  if (NOT_ROOT) return;
  t.timeout(5 * 60_000);
  network = await VirtualNetwork.create({ hosts: ["db", "api"] });
  db = await HostedMariaDb.start(network, "db");
  probes = new Probes(network);
});

test.after.always(async () => {
  await db?.destroy();
  await network?.destroy();
});

async function outcome(session: HostProcess): Promise<Outcome> {
  return JSON.parse(await session.nextLine(LINE_MS)) as Outcome;
}

rootTest("a Node process in one host queries MariaDB in another through the bridge", async (t) => {
  t.is(new URL(db.url).hostname, network.address("db"));
  const session = probes.mysqlSession("api", db.url, CONNECT_TIMEOUT_MS);
  try {
    t.like(await outcome(session), { event: "connect", ok: true });
    session.send(String(QUERY_TIMEOUT_MS));
    t.like(await outcome(session), { event: "query", ok: true });
  } finally {
    await session.finish();
  }
});

rootTest(
  "after a partition a new connection fails within its connectTimeout and an open one's query within its timeout, rather than hang",
  async (t) => {
    const open = probes.mysqlSession("api", db.url, CONNECT_TIMEOUT_MS);
    try {
      t.like(await outcome(open), { event: "connect", ok: true });
      const fault = await network.partition("api", "db");
      try {
        const fresh = probes.mysqlSession("api", db.url, CONNECT_TIMEOUT_MS);
        const connect = await outcome(fresh);
        await fresh.finish();
        t.log(`connect: ${JSON.stringify(connect)}`);
        t.like(connect, { ok: false, code: "ETIMEDOUT" });
        t.true(
          connect.ms >= CONNECT_TIMEOUT_MS && connect.ms < CONNECT_TIMEOUT_MS + SLACK_MS,
          `the connect failed after ${connect.ms} ms`,
        );
        open.send(String(QUERY_TIMEOUT_MS));
        const query = await outcome(open);
        t.log(`query: ${JSON.stringify(query)}`);
        t.like(query, { ok: false, code: "PROTOCOL_SEQUENCE_TIMEOUT" });
        t.true(
          query.ms >= QUERY_TIMEOUT_MS && query.ms < QUERY_TIMEOUT_MS + SLACK_MS,
          `the query failed after ${query.ms} ms`,
        );
      } finally {
        await fault.heal();
      }
    } finally {
      await open.finish();
    }
  },
);

rootTest("after the partition heals, the host connects and queries again", async (t) => {
  const fault = await network.partition("api", "db");
  const cut = probes.mysqlSession("api", db.url, CONNECT_TIMEOUT_MS);
  t.like(await outcome(cut), { event: "connect", ok: false });
  await cut.finish();
  await fault.heal();
  const session = probes.mysqlSession("api", db.url, CONNECT_TIMEOUT_MS);
  try {
    t.like(await outcome(session), { event: "connect", ok: true });
    session.send(String(QUERY_TIMEOUT_MS));
    t.like(await outcome(session), { event: "query", ok: true });
  } finally {
    await session.finish();
  }
});
