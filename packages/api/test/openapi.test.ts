import anyTest, { type TestFn } from "ava";
import { createMemoryLogger, systemClock } from "@lockstep/shared";
import { ContainerSpec } from "@lockstep/shared";
import { CreateContainerBody } from "../src/containers/container-schemas.js";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { openApiPath } from "../src/openapi.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

const test = anyTest as TestFn<{
  db: TestDatabase;
  app: TestApp;
  doc: {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
    components: { schemas: Record<string, unknown> };
  };
}>;

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
  const described = new Set(
    Object.entries(t.context.doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`)),
  );
  t.true(served.size >= 20);
  t.deepEqual(
    [...served].filter((r) => !described.has(r)),
    [],
    "served but not described",
  );
  t.deepEqual(
    [...described].filter((r) => !served.has(r)),
    [],
    "described but not served",
  );
});

type SchemaNode = { required?: string[]; properties?: Record<string, SchemaNode>; default?: unknown };

test("a field the server fills with its default is not required in the document, and one without a default is", (t) => {
  const body = t.context.doc.components.schemas.CreateContainerBody as SchemaNode;
  t.deepEqual(body.required, ["node", "spec"]);
  const spec = t.context.doc.components.schemas.ContainerSpec as SchemaNode;
  t.true(spec.required!.includes("hostname"));
  for (const field of ["cores", "memory_mb", "storage", "unprivileged"]) t.false(spec.required!.includes(field), field);
});

test("request bodies are described by the very schemas that validate them, required fields apart, the spec by reference", (t) => {
  const withoutRequired = (node: unknown): unknown =>
    Array.isArray(node)
      ? node.map(withoutRequired)
      : node && typeof node === "object"
        ? Object.fromEntries(
            Object.entries(node)
              .filter(([k]) => k !== "required")
              .map(([k, v]) => [k, withoutRequired(v)]),
          )
        : node;
  const plain = (schema: unknown) => withoutRequired(JSON.parse(JSON.stringify(schema)));
  const { schemas } = t.context.doc.components;
  t.deepEqual(withoutRequired(schemas.ContainerSpec), plain(ContainerSpec));
  const body = plain(CreateContainerBody) as { properties: Record<string, unknown> };
  t.deepEqual(withoutRequired(schemas.CreateContainerBody), {
    ...body,
    properties: { ...body.properties, spec: { $ref: "#/components/schemas/ContainerSpec" } },
  });
});

test("every route with a token lists 401, 429, 500 and 503, one that needs more than 'read' 403, and one with a body 413 and 415", (t) => {
  for (const [path, ops] of Object.entries(t.context.doc.paths)) {
    for (const [method, op] of Object.entries(
      ops as Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>,
    )) {
      if (path === "/healthz" || path === "/readyz") continue;
      const statuses = Object.keys(op.responses);
      for (const status of ["401", "429", "500", "503"])
        t.true(statuses.includes(status), `${method} ${path} ${status}`);
      t.is(statuses.includes("403"), method !== "get", `${method} ${path} 403`);
      if (op.requestBody)
        for (const status of ["413", "415"]) t.true(statuses.includes(status), `${method} ${path} ${status}`);
    }
  }
});

test("an error status names each problem type behind it, and its schema admits only those", (t) => {
  const created = (
    t.context.doc.paths["/v1/containers"]!.post as {
      responses: Record<
        string,
        { description: string; content: Record<string, { schema: { properties: { type: { enum: string[] } } } }> }
      >;
    }
  ).responses["503"]!;
  const types = created.content["application/problem+json"]!.schema.properties.type.enum;
  t.deepEqual([...types].sort(), [
    "urn:lockstep:problem:database-unavailable",
    "urn:lockstep:problem:node-in-maintenance",
  ]);
  t.regex(created.description, /`urn:lockstep:problem:node-in-maintenance`: the node is in maintenance/);
});
