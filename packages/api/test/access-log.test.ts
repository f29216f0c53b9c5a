import anyTest, { type TestFn } from "ava";
import { createMemoryLogger, systemClock } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

const test = anyTest as TestFn<{ db: TestDatabase; app: TestApp; logger: ReturnType<typeof createMemoryLogger> }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  const logger = createMemoryLogger();
  t.context = { db, logger, app: await testApp(db.pool, systemClock, { logger }) };
});
test.afterEach.always(async (t) => t.context.db?.drop());

test("each request is logged once as JSON with its request ID, route pattern, status and calling token ID, and the ID is echoed", async (t) => {
  const res = await t.context.app.request("/v1/containers/00000000-0000-0000-0000-000000000000", {
    headers: { "x-request-id": "panel-req-000123" },
  });
  t.is(res.headers.get("x-request-id"), "panel-req-000123");
  const lines = t.context.logger.entries.filter((e) => e.msg === "request");
  t.is(lines.length, 1);
  t.like(lines[0], {
    requestId: "panel-req-000123",
    method: "GET",
    route: "/v1/containers/:id",
    status: 404,
    caller: t.context.app.tokenId,
  });
});

test("a request without a usable ID gets a fresh one", async (t) => {
  const res = await t.context.app.raw("/v1/nodes", { headers: { "x-request-id": "bad id; rm -rf" } });
  const id = res.headers.get("x-request-id") ?? "";
  t.regex(id, /^[0-9a-f-]{36}$/);
  t.like(
    t.context.logger.entries.find((e) => e.msg === "request"),
    { requestId: id, status: 401, caller: null },
  );
});

test("the access log never holds the token or the body", async (t) => {
  await t.context.app.request("/v1/nodes", {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": "k" },
    body: JSON.stringify({ name: "pve1", address: "127.0.0.1:7000" }),
  });
  const logged = JSON.stringify(t.context.logger.entries);
  t.false(logged.includes("lst_"));
  t.false(logged.includes("127.0.0.1:7000"));
});
