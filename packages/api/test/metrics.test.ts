import anyTest, { type TestFn } from "ava";
import { createMemoryLogger, systemClock } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

const test = anyTest as TestFn<{ db: TestDatabase; app: TestApp }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  t.context = { db, app: await testApp(db.pool, systemClock) };
});
test.afterEach.always(async (t) => t.context.db?.drop());

const json = (key: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", "idempotency-key": key },
});

test("/metrics counts requests by route pattern, never by raw path", async (t) => {
  const { app } = t.context;
  await app.request("/v1/containers/00000000-0000-0000-0000-000000000000");
  await app.request("/v1/containers/11111111-1111-1111-1111-111111111111");
  const text = await (await app.request("/metrics")).text();
  t.regex(text, /lockstep_http_requests_total\{method="GET",route="\/v1\/containers\/:id",status="404"\} 2/);
  t.false(text.includes("00000000-0000"));
});

test("/metrics reports jobs by kind and state from the database", async (t) => {
  const { app } = t.context;
  await app.request("/v1/nodes", {
    ...json("node"),
    body: JSON.stringify({ name: "pve1", address: "127.0.0.1:7000" }),
  });
  await app.request("/v1/containers", {
    ...json("ct"),
    body: JSON.stringify({
      node: "pve1",
      spec: { hostname: "web-1", source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" } },
    }),
  });
  const text = await (await app.request("/metrics")).text();
  t.regex(text, /lockstep_jobs\{kind="create",state="queued"\} 1/);
  t.regex(text, /lockstep_job_retries\{kind="create"\} 0/);
});

test("/metrics needs a token like every route but the health checks", async (t) => {
  t.is((await t.context.app.raw("/metrics")).status, 401);
});
