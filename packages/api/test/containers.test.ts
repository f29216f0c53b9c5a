import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger, systemClock } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

type App = TestApp;
const test = anyTest as TestFn<{ db: TestDatabase; app: App }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  const app = await testApp(db.pool, systemClock, {
    vmids: { min: 1000, max: 1999 },
    ports: { min: 30000, max: 30999 },
  });
  t.context = { db, app };
  await send(app, "POST", "/v1/nodes", { name: "pve1", address: "127.0.0.1:7000" }, "setup-node");
});
test.afterEach.always(async (t) => t.context.db?.drop());

function send(app: App, method: string, path: string, body: unknown, key: string): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method,
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", "idempotency-key": key },
    }),
  );
}

/** A client that retries 409 (in flight) as Stripe's SDKs do, and returns the final answer. */
async function sendRetrying(app: App, body: unknown, key: string): Promise<{ status: number; text: string }> {
  for (;;) {
    const res = await send(app, "POST", "/v1/containers", body, key);
    if (res.status !== 409) return { status: res.status, text: await res.text() };
    await new Promise((r) => setTimeout(r, 20));
  }
}

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const minimal = { node: "pve1", spec: { hostname: "web-1", source: { template: TEMPLATE } } };
const named = (hostname: string) => ({ ...minimal, spec: { ...minimal.spec, hostname } });

async function count(db: TestDatabase, table: string): Promise<number> {
  const [rows] = await db.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
  return rows[0]!.n as number;
}

test("the smallest create body gives 202 with the record and its queued operation", async (t) => {
  const res = await send(t.context.app, "POST", "/v1/containers", minimal, "create-1");
  t.is(res.status, 202);
  const body = (await res.json()) as Record<string, unknown> & {
    operation: { id: string; status: string; error: unknown };
  };
  t.like(body, { vmid: 1000, node: "pve1", hostname: "web-1", status: "pending", ports: {} });
  t.is(body.operation_id, body.operation.id);
  t.like(body.operation, { status: "queued", error: null });
  t.is(
    ((await (await t.context.app.request(`/v1/containers/${body.id as string}`)).json()) as { id: string }).id,
    body.id as string,
  );
  t.is((await t.context.app.request(`/v1/operations/${body.operation.id}`)).status, 200);
});

test("a create answers with the record and operation exactly as reading them back shows them", async (t) => {
  const res = await send(
    t.context.app,
    "POST",
    "/v1/containers",
    { ...minimal, ports: ["ssh", "http"] },
    "create-read-back",
  );
  const { operation, ...record } = (await res.json()) as Record<string, unknown> & {
    id: string;
    operation: { id: string };
  };
  t.deepEqual(await (await t.context.app.request(`/v1/containers/${record.id}`)).json(), record);
  t.deepEqual(await (await t.context.app.request(`/v1/operations/${operation.id}`)).json(), operation);
});

test("200 concurrent creates with 50 keys give 50 records, 50 jobs, distinct VMIDs and ports, and identical replays", async (t) => {
  const keys = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
  const sends = keys.flatMap((key, i) =>
    Array.from({ length: 4 }, () =>
      sendRetrying(t.context.app, { ...named(`web-${i}`), ports: ["http", "ssh"] }, key).then((r) => ({ key, ...r })),
    ),
  );
  const results = await Promise.all(sends);
  t.deepEqual(
    results
      .filter((r) => r.status !== 202)
      .map((r) => `${r.status} ${r.text}`)
      .slice(0, 3),
    [],
  );
  for (const key of keys) {
    const texts = new Set(results.filter((r) => r.key === key).map((r) => r.text));
    t.is(texts.size, 1, `every answer for ${key} is the first one, byte for byte`);
  }
  t.is(await count(t.context.db, "containers"), 50);
  t.is(await count(t.context.db, "operations"), 50);
  const bodies = keys.map(
    (key) => JSON.parse(results.find((r) => r.key === key)!.text) as { vmid: number; ports: Record<string, number> },
  );
  t.is(new Set(bodies.map((b) => b.vmid)).size, 50);
  t.is(new Set(bodies.flatMap((b) => Object.values(b.ports))).size, 100);
});

test("an unregistered node is refused with the field named and nothing written", async (t) => {
  const res = await send(t.context.app, "POST", "/v1/containers", { ...minimal, node: "pve9" }, "create-2");
  t.is(res.status, 400);
  t.regex(JSON.stringify(await res.json()), /"pointer":"\/node"/);
  t.is(await count(t.context.db, "containers"), 0);
  t.is(await count(t.context.db, "vmid_allocations"), 0);
});

test("out-of-range and ill-typed fields are refused with their pointers", async (t) => {
  const res = await send(
    t.context.app,
    "POST",
    "/v1/containers",
    { ...minimal, spec: { ...minimal.spec, resources: { cores: 0, memory_mb: "lots" }, hostname: "bad host;rm" } },
    "create-3",
  );
  t.is(res.status, 400);
  const pointers = ((await res.json()) as { errors: { pointer: string }[] }).errors.map((e) => e.pointer);
  for (const p of ["/spec/resources/cores", "/spec/resources/memory_mb", "/spec/hostname"])
    t.true(pointers.includes(p), p);
});

test("the database itself refuses a second container on a taken VMID or port", async (t) => {
  await send(t.context.app, "POST", "/v1/containers", { ...minimal, ports: 1 }, "create-4");
  const [[vmid]] = (await t.context.db.pool.query<RowDataPacket[]>("SELECT vmid FROM vmid_allocations")) as unknown as [
    RowDataPacket[],
  ];
  await t.throwsAsync(
    t.context.db.pool.query(
      "INSERT INTO vmid_allocations (vmid, node, container_id, owner, allocated_at) VALUES (?, 'pve1', 'other', 'lockstep', NOW(3))",
      [vmid!.vmid],
    ),
    { message: /Duplicate entry/ },
  );
  await t.throwsAsync(
    t.context.db.pool.query(
      "INSERT INTO port_allocations (node, port, container_id, name, allocated_at) VALUES ('pve1', 30000, 'other', 'x', NOW(3))",
    ),
    { message: /Duplicate entry/ },
  );
});

test("a delete of a create that never started cancels it and frees its VMID and ports at once", async (t) => {
  const created = (await (
    await send(t.context.app, "POST", "/v1/containers", { ...minimal, ports: 2 }, "queued-create")
  ).json()) as { id: string; operation_id: string };
  const res = await t.context.app.request(`/v1/containers/${created.id}`, {
    method: "DELETE",
    headers: { "idempotency-key": "cancel-queued" },
  });
  t.is(res.status, 202);
  const body = (await res.json()) as { status: string; operation: { status: string } };
  t.deepEqual([body.status, body.operation.status], ["deleted", "succeeded"]);
  t.is(
    ((await (await t.context.app.request(`/v1/operations/${created.operation_id}`)).json()) as { status: string })
      .status,
    "cancelled",
  );
  t.is(await count(t.context.db, "vmid_allocations"), 0);
  t.is(await count(t.context.db, "port_allocations"), 0);
});

test("deleting an unknown container is a 404 problem", async (t) => {
  const res = await t.context.app.request("/v1/containers/00000000-0000-0000-0000-000000000000", {
    method: "DELETE",
    headers: { "idempotency-key": "delete-unknown" },
  });
  t.is(res.status, 404);
});

test("200 concurrent deletes of 50 containers answer no 5xx, and each container gets one delete", async (t) => {
  const ids: string[] = [];
  for (let i = 0; i < 50; i++)
    ids.push(
      (
        (await (await send(t.context.app, "POST", "/v1/containers", named(`del-${i}`), `made-${i}`)).json()) as {
          id: string;
        }
      ).id,
    );
  // Made on their nodes (as the dispatcher leaves them): each delete queues a delete job.
  await t.context.db.pool.query("UPDATE operations SET status = 'succeeded', attempts = 1, finished_at = NOW(3)");
  await t.context.db.pool.query("UPDATE containers SET status = 'running'");
  // Four callers per container, each with its own key: deletes of different containers and of
  // one container meet on the same rows and indexes (the deadlock this once answered 500).
  const deletes = ids.flatMap((id) =>
    Array.from({ length: 4 }, (_, n) =>
      send(t.context.app, "DELETE", `/v1/containers/${id}`, {}, `delete-${id}-${n}`).then(async (res) => ({
        id,
        status: res.status,
        body: (await res.json()) as { operation?: { id: string }; detail?: string },
      })),
    ),
  );
  const results = await Promise.all(deletes);
  t.deepEqual(
    results
      .filter((r) => r.status >= 500)
      .map((r) => `${r.status} ${r.body.detail}`)
      .slice(0, 3),
    [],
  );
  t.true(results.every((r) => r.status === 202));
  for (const id of ids)
    t.is(
      new Set(results.filter((r) => r.id === id).map((r) => r.body.operation!.id)).size,
      1,
      `container ${id} has one delete`,
    );
  const [deleteJobs] = await t.context.db.pool.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM operations WHERE kind = 'delete'",
  );
  t.is(deleteJobs[0]!.n, 50);
});
