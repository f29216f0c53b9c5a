import anyTest, { type TestFn } from "ava";
import { createMemoryLogger, ManualClock } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import type { NodeRecord } from "../src/nodes/node-repository.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

const test = anyTest as TestFn<{ db: TestDatabase; app: TestApp; clock: ManualClock }>;

const SINCE = Date.UTC(2026, 10, 22, 9, 30);

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  const clock = new ManualClock(SINCE);
  const app = await testApp(db.pool, clock);
  t.context = { db, clock, app };
  const res = await send(app, "POST", "/v1/nodes", "register", { name: "pve1", address: "127.0.0.1:7000" });
  if (res.status !== 201) throw new Error(`registering pve1: ${res.status}`);
});
test.afterEach.always(async (t) => t.context.db?.drop());

function send(
  app: TestApp,
  method: string,
  path: string,
  key: string,
  body?: unknown,
  token?: string,
): Promise<Response> {
  const headers: Record<string, string> = {
    "idempotency-key": key,
    ...(body === undefined ? {} : { "content-type": "application/json" }),
  };
  const init = { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
  return token
    ? app.raw(path, { ...init, headers: { ...headers, authorization: `Bearer ${token}` } })
    : app.request(path, init);
}

const enter = (app: TestApp, key: string, body?: unknown, token?: string) =>
  send(app, "POST", "/v1/nodes/pve1/maintenance", key, body, token);
const leave = (app: TestApp, key: string, token?: string) =>
  send(app, "DELETE", "/v1/nodes/pve1/maintenance", key, undefined, token);
const node = async (app: TestApp): Promise<NodeRecord> =>
  (await (await app.request("/v1/nodes/pve1")).json()) as NodeRecord;
const createBody = {
  node: "pve1",
  spec: { hostname: "web-1", source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" } },
};

test("a node in maintenance shows since when, why and who in GET /v1/nodes and GET /v1/nodes/{name}", async (t) => {
  const { app } = t.context;
  const res = await enter(app, "enter-1", { reason: "kernel update, reboot" });
  t.is(res.status, 200);
  const expected = {
    since: new Date(SINCE).toISOString(),
    reason: "kernel update, reboot",
    entered_by: "test-admin",
    jobs_running: 0,
    jobs_waiting: 0,
  };
  t.deepEqual(((await res.json()) as NodeRecord).maintenance, expected);
  t.deepEqual((await node(app)).maintenance, expected);
  const { nodes } = (await (await app.request("/v1/nodes")).json()) as { nodes: NodeRecord[] };
  t.deepEqual(
    nodes.map((n) => [n.name, n.maintenance]),
    [["pve1", expected]],
  );
});

test("a node takes work again once it leaves maintenance", async (t) => {
  const { app } = t.context;
  await enter(app, "enter-2");
  const res = await leave(app, "leave-2");
  t.is(res.status, 200);
  t.is(((await res.json()) as NodeRecord).maintenance, null);
  t.is((await node(app)).maintenance, null);
});

test("the body of an entry may be left out", async (t) => {
  const res = await enter(t.context.app, "enter-bare");
  t.is(res.status, 200);
  t.like((await node(t.context.app)).maintenance, { reason: null, entered_by: "test-admin" });
});

test("entering again keeps the first entry, and leaving a node not in maintenance changes nothing", async (t) => {
  const { app, clock } = t.context;
  await enter(app, "enter-3", { reason: "first" });
  clock.advance(60_000);
  const again = await enter(app, "enter-4", { reason: "second" });
  t.is(again.status, 200);
  t.like((await node(app)).maintenance, { since: new Date(SINCE).toISOString(), reason: "first" });
  await leave(app, "leave-3");
  t.is((await leave(app, "leave-4")).status, 200);
  t.is((await node(app)).maintenance, null);
});

test("entering and leaving are written to the incident log with who and why", async (t) => {
  const { app, db } = t.context;
  await enter(app, "enter-5", { reason: "disk swap" });
  await enter(app, "enter-6", { reason: "disk swap" });
  await leave(app, "leave-5");
  const [rows] = await db.pool.query("SELECT kind, detail FROM incidents WHERE node = 'pve1' ORDER BY id");
  const incidents = rows as { kind: string; detail: string }[];
  t.deepEqual(
    incidents.map((i) => i.kind),
    ["node-maintenance-entered", "node-maintenance-left"],
  );
  t.regex(incidents[0]!.detail, /by token 'test-admin'.*disk swap/);
});

test("the same Idempotency-Key replays the first answer and does not enter twice", async (t) => {
  const { app, db, clock } = t.context;
  const first = await enter(app, "enter-same", { reason: "r" });
  const firstBody = await first.text();
  await leave(app, "leave-between");
  clock.advance(1_000);
  const replay = await enter(app, "enter-same", { reason: "r" });
  t.is(replay.status, 200);
  t.is(replay.headers.get("idempotent-replayed"), "true");
  t.is(await replay.text(), firstBody);
  t.is((await node(app)).maintenance, null, "the replay did not run again");
  const [rows] = await db.pool.query("SELECT COUNT(*) AS n FROM incidents WHERE kind = 'node-maintenance-entered'");
  t.is((rows as { n: number }[])[0]!.n, 1);
});

test("the same Idempotency-Key with another reason is refused with 422", async (t) => {
  await enter(t.context.app, "enter-reused", { reason: "one" });
  t.is((await enter(t.context.app, "enter-reused", { reason: "two" })).status, 422);
});

test("a read or operator token may not enter or leave maintenance (403), and nothing changes", async (t) => {
  const { app } = t.context;
  for (const scope of ["read", "operator"] as const) {
    const { token } = await app.tokens.create(`a-${scope}`, scope);
    for (const res of [
      await enter(app, `enter-${scope}`, { reason: "x" }, token),
      await leave(app, `leave-${scope}`, token),
    ]) {
      t.is(res.status, 403);
      t.is(res.headers.get("content-type"), "application/problem+json");
      t.like(await res.json(), { code: "PERMISSION_DENIED" });
    }
  }
  t.is((await node(app)).maintenance, null);
  const { token } = await app.tokens.create("viewer", "read");
  t.is(
    (await app.raw("/v1/nodes/pve1", { headers: { authorization: `Bearer ${token}` } })).status,
    200,
    "a read token still reads the node",
  );
});

test("an unknown node is a 404 problem", async (t) => {
  for (const res of [
    await send(t.context.app, "POST", "/v1/nodes/pve9/maintenance", "enter-unknown", {}),
    await send(t.context.app, "DELETE", "/v1/nodes/pve9/maintenance", "leave-unknown"),
  ]) {
    t.is(res.status, 404);
    t.is(res.headers.get("content-type"), "application/problem+json");
    t.like(await res.json(), { code: "NOT_FOUND", detail: "node 'pve9' does not exist" });
  }
});

test("a reason that is not text on one line, or too long, is a 400 naming it", async (t) => {
  for (const reason of ["line\nbreak", "x".repeat(501), ""]) {
    const res = await enter(t.context.app, `bad-${reason.length}-${reason.charCodeAt(4)}`, { reason });
    t.is(res.status, 400);
    t.is(((await res.json()) as { errors: { pointer: string }[] }).errors[0]?.pointer, "/reason");
  }
  t.is((await enter(t.context.app, "bad-field", { why: "x" })).status, 400);
  t.is((await node(t.context.app)).maintenance, null);
});

test("a create naming a node in maintenance is a 503 problem of its own type, with Retry-After, and its key stays usable", async (t) => {
  const { app, db } = t.context;
  await enter(app, "enter-7", { reason: "reboot" });
  const refused = await send(app, "POST", "/v1/containers", "create-1", createBody);
  t.is(refused.status, 503);
  t.is(refused.headers.get("content-type"), "application/problem+json");
  t.is(refused.headers.get("retry-after"), "60");
  t.like(await refused.json(), {
    type: "urn:lockstep:problem:node-in-maintenance",
    code: "UNAVAILABLE",
    node: "pve1",
    maintenance: { since: new Date(SINCE).toISOString(), reason: "reboot" },
  });
  const [rows] = await db.pool.query(
    "SELECT (SELECT COUNT(*) FROM containers) AS containers, (SELECT COUNT(*) FROM vmid_allocations) AS vmids",
  );
  t.deepEqual({ ...(rows as object[])[0] }, { containers: 0, vmids: 0 });
  await leave(app, "leave-7");
  t.is(
    (await send(app, "POST", "/v1/containers", "create-1", createBody)).status,
    202,
    "the same key creates once the node is back",
  );
});

test("a node in maintenance counts its running and waiting jobs", async (t) => {
  const { app, db } = t.context;
  await send(app, "POST", "/v1/containers", "create-a", createBody);
  await send(app, "POST", "/v1/containers", "create-b", createBody);
  await db.pool.query("UPDATE operations SET status = 'running' ORDER BY created_at LIMIT 1");
  await enter(app, "enter-8");
  t.like((await node(app)).maintenance, { jobs_running: 1, jobs_waiting: 1 });
});

test("the metrics show each node's maintenance", async (t) => {
  const { app } = t.context;
  await send(app, "POST", "/v1/nodes", "register-2", { name: "pve2", address: "127.0.0.1:7001" });
  await enter(app, "enter-9");
  const text = await (await app.request("/metrics")).text();
  t.regex(text, /^lockstep_node_maintenance\{node="pve1"\} 1$/m);
  t.regex(text, /^lockstep_node_maintenance\{node="pve2"\} 0$/m);
});
