import anyTest, { type TestFn } from "ava";
import { createMemoryLogger, systemClock } from "@lockstep/shared";
import { CreateContainerBody } from "../src/containers/container-schemas.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { openApiPath } from "../src/http/openapi.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

const test = anyTest as TestFn<{ db: TestDatabase; app: TestApp; doc: { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } } }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  const app = await testApp(db.pool, systemClock);
  const res = await app.request("/openapi.json");
  t.is(res.status, 200);
  t.context = { db, app, doc: (await res.json()) as never };
});
test.afterEach.always(async (t) => t.context.db?.drop());

test("the API describes itself as OpenAPI 3.1", (t) => {
  t.is(t.context.doc.openapi, "3.1.0");
});

test("every route the app serves is in /openapi.json, and nothing else is", (t) => {
  const served = new Set(t.context.app.routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`));
  const described = new Set(Object.entries(t.context.doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`)));
  t.true(served.size >= 20);
  t.deepEqual([...served].filter((r) => !described.has(r)), [], "served but not described");
  t.deepEqual([...described].filter((r) => !served.has(r)), [], "described but not served");
});

test("request bodies are described by the very schemas that validate them", (t) => {
  t.deepEqual(t.context.doc.components.schemas.CreateContainerBody, JSON.parse(JSON.stringify(CreateContainerBody)));
});
