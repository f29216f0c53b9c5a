import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger, systemClock } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

const test = anyTest as TestFn<{ db: TestDatabase; app: TestApp }>;

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  const app = await testApp(db.pool, systemClock, {
    vmids: { min: 1000, max: 1999 },
    ports: { min: 30000, max: 30999 },
  });
  t.context = { db, app };
  const node = await post(app, "/v1/nodes", JSON.stringify({ name: "pve1", address: "127.0.0.1:7000" }), "setup-node");
  t.is(node.status, 201);
});
test.afterEach.always(async (t) => t.context.db?.drop());

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const create = (spec: unknown = { hostname: "web-1", source: { template: TEMPLATE } }) =>
  JSON.stringify({ node: "pve1", spec });

function post(
  app: TestApp,
  path: string,
  body: string,
  key: string,
  contentType: string | null = "application/json",
): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: "POST",
      body,
      headers: { "idempotency-key": key, ...(contentType === null ? {} : { "content-type": contentType }) },
    }),
  );
}

interface Problem {
  type: string;
  status: number;
  detail: string;
  errors?: { pointer: string; reason: string }[];
}

async function rows(db: TestDatabase, table: string): Promise<number> {
  const [result] = await db.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
  return result[0]!.n as number;
}

for (const contentType of [
  null,
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonx",
  "text/json",
]) {
  test(`a body sent as ${contentType ?? "no Content-Type"} is 415 with its problem type, and nothing is created nor its key used`, async (t) => {
    const res = await post(t.context.app, "/v1/containers", create(), "create-415", contentType);
    t.is(res.status, 415);
    t.is(res.headers.get("content-type"), "application/problem+json");
    const problem = (await res.json()) as Problem;
    t.is(problem.type, "urn:lockstep:problem:unsupported-media-type");
    t.deepEqual(
      problem.errors?.map((e) => e.pointer),
      ["/headers/content-type"],
    );
    t.regex(problem.detail, /must be application\/json \(or a \+json type\)/);
    t.is(await rows(t.context.db, "containers"), 0);
    t.is((await post(t.context.app, "/v1/containers", create(), "create-415")).status, 202, "the key was not used");
  });
}

for (const contentType of [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  "application/merge-patch+json",
  "application/vnd.lockstep.v1+json",
]) {
  test(`a body sent as ${contentType} is read`, async (t) => {
    t.is((await post(t.context.app, "/v1/containers", create(), "create-json", contentType)).status, 202);
  });
}

test("an apply with no body needs no Content-Type", async (t) => {
  const created = (await (await post(t.context.app, "/v1/containers", create(), "create-1")).json()) as { id: string };
  t.is((await post(t.context.app, `/v1/containers/${created.id}/apply`, "", "apply-1", null)).status, 202);
});

test("a member name given twice is 400 naming it, and nothing is created", async (t) => {
  const res = await post(
    t.context.app,
    "/v1/containers",
    `{"node":"nope","node":"pve1","spec":${JSON.stringify({ hostname: "web-1", source: { template: TEMPLATE } })}}`,
    "dup-top",
  );
  t.is(res.status, 400);
  t.deepEqual(((await res.json()) as Problem).errors, [
    { pointer: "/node", reason: "must appear once in its object; this member name is given twice" },
  ]);
  t.is(await rows(t.context.db, "containers"), 0);
});

test("a member name given twice deep in the spec is named by its full pointer", async (t) => {
  const res = await post(
    t.context.app,
    "/v1/containers",
    `{"node":"pve1","spec":{"hostname":"web-1","source":{"template":"${TEMPLATE}"},"resources":{"cores":1,"cores":64}}}`,
    "dup-deep",
  );
  t.is(res.status, 400);
  t.like(((await res.json()) as Problem).errors?.[0], { pointer: "/spec/resources/cores" });
});

test("a clone VMID out of range is named at its own field, not at the union that holds it", async (t) => {
  const res = await post(
    t.context.app,
    "/v1/containers",
    create({ hostname: "web-1", source: { clone: { vmid: 5 } } }),
    "clone-range",
  );
  t.is(res.status, 400);
  const errors = ((await res.json()) as Problem).errors ?? [];
  t.is(errors.length, 1);
  t.is(errors[0]?.pointer, "/spec/source/clone/vmid");
  t.regex(errors[0]?.reason ?? "", /greater or equal to 100/);
});

test("a source that fits neither a template nor a clone is explained by the branch it came nearest to", async (t) => {
  const res = await post(
    t.context.app,
    "/v1/containers",
    create({ hostname: "web-1", source: { template: 7 } }),
    "source-type",
  );
  t.deepEqual(
    ((await res.json()) as Problem).errors?.map((e) => e.pointer),
    ["/spec/source/template"],
  );
});
