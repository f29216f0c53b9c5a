import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger, ManualClock } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

const test = anyTest as TestFn<{ db: TestDatabase; app: TestApp; clock: ManualClock; read: string; operator: string }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  const clock = new ManualClock(Date.UTC(2026, 10, 23));
  const app = await testApp(db.pool, clock, { limits: { maxBodyBytes: 2048, ratePerSecond: 2, rateBurst: 3 } });
  const read = (await app.tokens.create("viewer", "read")).token;
  const operator = (await app.tokens.create("panel", "operator")).token;
  t.context = { db, app, clock, read, operator };
});
test.afterEach.always(async (t) => t.context.db?.drop());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const json = (token: string, key: string) => ({
  ...bearer(token),
  "content-type": "application/json",
  "idempotency-key": key,
});
const node = JSON.stringify({ name: "pve1", address: "127.0.0.1:7000" });

async function count(db: TestDatabase, table: string): Promise<number> {
  const [rows] = await db.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

test("a request without a token is 401 with a Bearer challenge and a problem document", async (t) => {
  const res = await t.context.app.raw("/v1/containers");
  t.is(res.status, 401);
  t.is(res.headers.get("www-authenticate"), 'Bearer realm="lockstep"');
  t.is(res.headers.get("content-type"), "application/problem+json");
  t.is(((await res.json()) as { code: string }).code, "UNAUTHENTICATED");
});

test("malformed, unknown, wrongly signed and revoked tokens all get the same 401", async (t) => {
  const { app } = t.context;
  const victim = await app.tokens.create("victim", "read");
  await app.tokens.revoke(victim.record.tokenId);
  const wrongSecret = t.context.read.replace(/.{4}$/, "AAAA");
  const bodies = new Set<string>();
  for (const header of [
    "Bearer nonsense",
    "Basic dXNlcjpwYXNz",
    `Bearer lst_000000000000_${"A".repeat(43)}`,
    `Bearer ${wrongSecret}`,
    `Bearer ${victim.token}`,
  ]) {
    const res = await app.raw("/v1/containers", { headers: { authorization: header } });
    t.is(res.status, 401, header);
    bodies.add(await res.text());
  }
  t.is(bodies.size, 1);
});

test("health and readiness answer without a token", async (t) => {
  t.is((await t.context.app.raw("/healthz")).status, 200);
  t.is((await t.context.app.raw("/readyz")).status, 200);
});

test("an unknown route without a token is 401, not 404, so routes cannot be probed", async (t) => {
  t.is((await t.context.app.raw("/v1/secret-admin-route")).status, 401);
  t.is((await t.context.app.raw("/nothing-here")).status, 401);
});

test("a read token reads but may not write, and is told which scope is missing", async (t) => {
  const { app, read } = t.context;
  t.is((await app.raw("/v1/containers", { headers: bearer(read) })).status, 200);
  const res = await app.raw("/v1/containers/00000000-0000-0000-0000-000000000000", {
    method: "DELETE",
    headers: json(read, "k-delete"),
  });
  t.is(res.status, 403);
  t.regex(
    ((await res.json()) as { detail: string }).detail,
    /needs a token with scope 'operator'; this token has 'read'/,
  );
});

test("a missing scope is the same 403 whether the resource exists or not", async (t) => {
  const { app, read } = t.context;
  t.is(
    (
      await app.request("/v1/nodes", {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "k-node" },
        body: node,
      })
    ).status,
    201,
  );
  const spec = { hostname: "web-1", source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" } };
  const created = await app.request("/v1/containers", {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": "k-ct" },
    body: JSON.stringify({ node: "pve1", spec }),
  });
  const { id } = (await created.json()) as { id: string };
  const existing = await app.raw(`/v1/containers/${id}`, { method: "DELETE", headers: json(read, "k-1") });
  const missing = await app.raw("/v1/containers/00000000-0000-0000-0000-000000000000", {
    method: "DELETE",
    headers: json(read, "k-2"),
  });
  t.is(existing.status, 403);
  t.is(missing.status, 403);
  t.deepEqual(
    { ...((await existing.json()) as object), instance: null },
    { ...((await missing.json()) as object), instance: null },
  );
});

test("registering a node needs the admin scope; an operator token is refused", async (t) => {
  const res = await t.context.app.raw("/v1/nodes", {
    method: "POST",
    headers: json(t.context.operator, "k-node"),
    body: node,
  });
  t.is(res.status, 403);
  t.is(await count(t.context.db, "nodes"), 0);
});

test("an idempotency key sent by another token is refused and its response is never replayed", async (t) => {
  const { app, db, operator } = t.context;
  const admin = await app.request("/v1/nodes", {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": "shared-key" },
    body: node,
  });
  t.is(admin.status, 201);
  const other = await app.tokens.create("other-admin", "admin");
  const replay = await app.raw("/v1/nodes", { method: "POST", headers: json(other.token, "shared-key"), body: node });
  t.is(replay.status, 422);
  t.regex(((await replay.json()) as { detail: string }).detail, /used by another API token/);
  t.is(replay.headers.get("idempotent-replayed"), null);
  t.is(await count(db, "nodes"), 1);
  t.is(await count(db, "idempotency_keys"), 1);
  t.truthy(operator);
});

test("a token over its request rate gets 429 with Retry-After, and is served again once the bucket refills", async (t) => {
  const { app, read, clock } = t.context;
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await app.raw("/v1/containers", { headers: bearer(read) })).status);
  t.deepEqual(statuses, [200, 200, 200, 429]);
  const limited = await app.raw("/v1/containers", { headers: bearer(read) });
  t.is(limited.headers.get("retry-after"), "1");
  clock.advance(1_000);
  t.is((await app.raw("/v1/containers", { headers: bearer(read) })).status, 200);
});

test("one token's rate does not limit another's", async (t) => {
  const { app, read, operator } = t.context;
  for (let i = 0; i < 4; i++) await app.raw("/v1/containers", { headers: bearer(read) });
  t.is((await app.raw("/v1/containers", { headers: bearer(operator) })).status, 200);
});

test("a body over maxBodyBytes is 413 and its idempotency key stays unused", async (t) => {
  const { app, db } = t.context;
  const res = await app.request("/v1/nodes", {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": "k-big" },
    body: JSON.stringify({ name: "pve1", address: "x".repeat(4096) }),
  });
  t.is(res.status, 413);
  t.regex(((await res.json()) as { detail: string }).detail, /exceeds 2048 bytes \(maxBodyBytes\)/);
  t.is(await count(db, "idempotency_keys"), 0);
  t.is(await count(db, "nodes"), 0);
});

test("a token's secret is stored only as a hash", async (t) => {
  const [rows] = await t.context.db.pool.query<RowDataPacket[]>("SELECT * FROM api_tokens");
  const stored = JSON.stringify(rows);
  for (const token of [t.context.read, t.context.operator])
    t.false(stored.includes(token.slice("lst_000000000000_".length)));
});
