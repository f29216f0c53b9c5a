import anyTest, { type TestFn } from "ava";
import { createMemoryLogger, ManualClock } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { KeyStore } from "../src/idempotency/key-store.js";
import { requestFingerprint } from "../src/idempotency/fingerprint.js";
import { IdempotencyKeyInFlightError } from "../src/errors.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

const test = anyTest as TestFn<{ db: TestDatabase; app: TestApp; clock: ManualClock }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  const clock = new ManualClock(Date.UTC(2026, 10, 22));
  t.context = { db, clock, app: await testApp(db.pool, clock) };
});
test.afterEach.always(async (t) => t.context.db?.drop());

const node = { name: "pve1", address: "127.0.0.1:7000" };
const post = (app: TestApp, body: unknown, key?: string) =>
  app.request("/v1/nodes", {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
  });

test("health and readiness answer without a database write", async (t) => {
  t.is((await t.context.app.request("/healthz")).status, 200);
  t.deepEqual(await (await t.context.app.request("/readyz")).json(), { status: "ready" });
});

test("a POST without an Idempotency-Key is a 400 problem", async (t) => {
  const res = await post(t.context.app, node);
  t.is(res.status, 400);
  t.is(res.headers.get("content-type"), "application/problem+json");
  const problem = (await res.json()) as { code: string; errors: { pointer: string }[] };
  t.is(problem.code, "INVALID_ARGUMENT");
  t.is(problem.errors[0]?.pointer, "/headers/idempotency-key");
});

test("the smallest node body registers a node", async (t) => {
  const res = await post(t.context.app, node, "key-1");
  t.is(res.status, 201);
  t.is(res.headers.get("location"), "/v1/nodes/pve1");
  t.like(await res.json(), { name: "pve1", address: "127.0.0.1:7000", health_state: "unknown" });
});

test("the same key and body replay the first response byte for byte", async (t) => {
  const first = await post(t.context.app, node, "key-2");
  const firstBody = await first.text();
  const again = await post(t.context.app, { address: "127.0.0.1:7000", name: "pve1" }, "key-2");
  t.is(again.status, first.status);
  t.is(await again.text(), firstBody);
  t.is(again.headers.get("idempotent-replayed"), "true");
  const [rows] = await t.context.db.pool.query("SELECT COUNT(*) AS n FROM nodes");
  t.is((rows as { n: number }[])[0]?.n, 1);
});

test("the same key with another body is a 422", async (t) => {
  await post(t.context.app, node, "key-3");
  const res = await post(t.context.app, { ...node, address: "127.0.0.1:7001" }, "key-3");
  t.is(res.status, 422);
  t.is(((await res.json()) as { code: string }).code, "REQUEST_ID_REUSED");
});

test("the same key while the first request is in flight is a 409 with Retry-After", async (t) => {
  const keys = new KeyStore(t.context.db.pool, t.context.clock, { retentionMs: 3600_000, abandonedAfterMs: 60_000 });
  const body = JSON.stringify(node);
  await keys.claim({
    claimToken: "another-request",
    scope: t.context.app.tokenId,
    key: "key-4",
    method: "POST",
    path: "/v1/nodes",
    fingerprint: requestFingerprint("POST", "/v1/nodes", body),
  });
  const res = await post(t.context.app, body, "key-4");
  t.is(res.status, 409);
  t.is(res.headers.get("retry-after"), "1");
});

test("an in-flight key abandoned by a dead process is taken over", async (t) => {
  const keys = new KeyStore(t.context.db.pool, t.context.clock, { retentionMs: 3600_000, abandonedAfterMs: 60_000 });
  const body = JSON.stringify(node);
  await keys.claim({
    claimToken: "a-dead-process",
    scope: t.context.app.tokenId,
    key: "key-5",
    method: "POST",
    path: "/v1/nodes",
    fingerprint: requestFingerprint("POST", "/v1/nodes", body),
  });
  t.context.clock.advance(61_000);
  t.is((await post(t.context.app, body, "key-5")).status, 201);
});

test("an invalid body names the field, writes nothing and leaves the key usable", async (t) => {
  const bad = await post(t.context.app, { name: "pve1", address: "127.0.0.1:7000", extra: 1 }, "key-6");
  t.is(bad.status, 400);
  t.regex(JSON.stringify(await bad.json()), /\/extra/);
  const notJson = await post(t.context.app, "{not json", "key-6");
  t.is(notJson.status, 400);
  t.is((await post(t.context.app, node, "key-6")).status, 201);
});

test("a second registration of a name under another key is a 409 that stores no node", async (t) => {
  await post(t.context.app, node, "key-7");
  const res = await post(t.context.app, { ...node, address: "10.0.0.9:7000" }, "key-8");
  t.is(res.status, 409);
  t.deepEqual(
    ((await (await t.context.app.request("/v1/nodes")).json()) as { nodes: { address: string }[] }).nodes.map(
      (n) => n.address,
    ),
    ["127.0.0.1:7000"],
  );
});

test("shell metacharacters in a node name are refused", async (t) => {
  const res = await post(t.context.app, { name: "pve1;rm -rf /", address: "127.0.0.1:7000" }, "key-9");
  t.is(res.status, 400);
  t.regex(JSON.stringify(await res.json()), /\/name/);
});

test("an unknown route is a 404 problem", async (t) => {
  const res = await t.context.app.request("/v1/nope");
  t.is(res.status, 404);
  t.is(res.headers.get("content-type"), "application/problem+json");
});

test("a key past its retention is purged and then treated as new", async (t) => {
  const keys = new KeyStore(t.context.db.pool, t.context.clock, { retentionMs: 3600_000, abandonedAfterMs: 60_000 });
  await post(t.context.app, node, "key-10");
  t.is(await keys.purgeExpired(), 0);
  t.context.clock.advance(25 * 3600_000);
  t.is(await keys.purgeExpired(), 1);
  const again = await post(t.context.app, { name: "pve2", address: "127.0.0.1:7001" }, "key-10");
  t.is(again.status, 201);
});

test("a claim run again after its commit's answer was lost finds its own claim, while another request's gets 409", async (t) => {
  const keys = new KeyStore(t.context.db.pool, t.context.clock, { retentionMs: 3600_000, abandonedAfterMs: 60_000 });
  const id = {
    claimToken: "first-request",
    scope: t.context.app.tokenId,
    key: "key-lost",
    method: "POST",
    path: "/v1/nodes",
    fingerprint: requestFingerprint("POST", "/v1/nodes", "{}"),
  };
  t.is(await keys.claim(id), null);
  t.is(await keys.claim(id), null, "the same claim again: its own row");
  await t.throwsAsync(keys.claim({ ...id, claimToken: "a-duplicate" }), { instanceOf: IdempotencyKeyInFlightError });
});

test("a handler's transaction run again after its commit's answer was lost gets the answer it committed", async (t) => {
  const keys = new KeyStore(t.context.db.pool, t.context.clock, { retentionMs: 3600_000, abandonedAfterMs: 60_000 });
  const id = {
    claimToken: "first-request",
    scope: t.context.app.tokenId,
    key: "key-done",
    method: "POST",
    path: "/v1/nodes",
    fingerprint: requestFingerprint("POST", "/v1/nodes", "{}"),
  };
  await keys.claim(id);
  const answer = { status: 201, headers: { "content-type": "application/json" }, body: Buffer.from('{"name":"pve9"}') };
  await t.context.db.pool.transaction((tx) => keys.complete(tx, id, answer));
  const again = await t.context.db.pool.transaction((tx) => keys.finished(tx, id));
  t.deepEqual(again, answer);
});

test("a request whose abandoned claim was taken over can neither complete nor free the key", async (t) => {
  const keys = new KeyStore(t.context.db.pool, t.context.clock, { retentionMs: 3600_000, abandonedAfterMs: 60_000 });
  const slow = {
    claimToken: "slow-request",
    scope: t.context.app.tokenId,
    key: "key-taken",
    method: "POST",
    path: "/v1/nodes",
    fingerprint: requestFingerprint("POST", "/v1/nodes", "{}"),
  };
  await keys.claim(slow);
  t.context.clock.advance(61_000);
  await keys.claim({ ...slow, claimToken: "retry-after-timeout" });
  await t.throwsAsync(
    t.context.db.pool.transaction((tx) => keys.finished(tx, slow)),
    { instanceOf: IdempotencyKeyInFlightError },
  );
  await keys.release(slow);
  await t.throwsAsync(
    keys.claim({ ...slow, claimToken: "third" }),
    { instanceOf: IdempotencyKeyInFlightError },
    "the key is still the retry's",
  );
});
