import anyTest, { type TestFn } from "ava";
import { createMemoryLogger, ManualClock, systemClock, SuiteScope } from "@lockstep/shared";
import { agentDirectory } from "../packages/api/src/agents/agent-directory.js";
import { migrate } from "../packages/api/src/db/migrate.js";
import { migrations } from "../packages/api/src/db/migrations/index.js";
import { requestFingerprint } from "../packages/api/src/idempotency/fingerprint.js";
import { KeyStore } from "../packages/api/src/idempotency/key-store.js";
import { openApiDocument } from "../packages/api/src/openapi.js";
import { documentedRoute } from "../packages/api/test/support/openapi-contract.js";
import { testApp, type TestApp } from "../packages/api/test/support/test-app.js";
import { createTestDatabase, type TestDatabase } from "../packages/api/test/support/test-database.js";
import { agentOnSim, TEMPLATE, type AgentUnderTest } from "../packages/agent/test/integration/agent-harness.js";
import { testPki } from "../packages/agent/test/integration/test-pki.js";

/**
 * The OpenAPI document against real answers: an in-process API on a real database, with a real
 * agent on a simulated node behind it. Every response of every test goes through the contract
 * check of `testApp` (status listed, content type listed, body valid by the listed schema), and
 * the tests here make every route give its success and each error status it lists; the last
 * test shows that none was left out but those named in UNREACHED, each with why.
 */

interface Ctx {
  db: TestDatabase;
  agent: AgentUnderTest;
  app: TestApp;
  /** The same database, with one request per token and a clock that never refills it. */
  limited: TestApp;
  reader: string;
  keys: KeyStore;
}

const test = anyTest as TestFn<Ctx>;
const received = new Set<string>();

// Statuses the document lists that no test here provokes, and why that is acceptable.
const UNREACHED: Record<string, string> = {
  "500": "an unexpected error cannot be caused from outside; its problem document is the one every 4xx here checks",
  "502": "a command failing on the node under a read route: the agent's own tests cover COMMAND_FAILED",
};
// 503 is reached on routes that have a cause of their own; elsewhere it is only the database
// failing through the API's retry budget, which packages/api/test/database-failure.test.ts covers.
const DATABASE_ONLY_503 = "database-unavailable";

const suite = new SuiteScope();

test.before(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  const agent = await agentOnSim(suite, { LOCKSTEP_AGENT_NODE: "pve1", LOCKSTEP_SIM_NODE: "pve1" });
  const tls = await (await testPki()).client("lockstep-api");
  const app = await testApp(db.pool, systemClock, { agents: agentDirectory(db.pool, 10_000, { mode: "mtls", tls }) });
  const limited = await testApp(db.pool, new ManualClock(), {
    limits: { maxBodyBytes: 4 * 1024 * 1024, ratePerSecond: 1, rateBurst: 1 },
  });
  const reader = (await app.tokens.create("reader", "read")).token;
  t.context = {
    db,
    agent,
    app,
    limited,
    reader,
    keys: new KeyStore(db.pool, systemClock, { retentionMs: 3600_000, abandonedAfterMs: 60_000 }),
  };
});
test.afterEach.always((t) => suite.noteResult(t));
test.after.always(async (t) => {
  await suite.close();
  await t.context.db?.drop();
});

interface Call {
  readonly body?: unknown;
  readonly key?: string;
  readonly contentType?: string;
  readonly token?: string | null;
}

/** One request; its status is noted against its documented route. */
async function call(app: TestApp, method: string, path: string, options: Call = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  if (options.key) headers["idempotency-key"] = options.key;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === "string"
        ? options.body
        : JSON.stringify(options.body);
  const init = { method, headers, body };
  const res = options.token === null ? await app.raw(path, init) : await app.request(path, init);
  const route = documentedRoute(method, path);
  if (route) received.add(`${route.method} ${route.template} ${res.status}`);
  return res;
}

async function expect(
  t: { is(a: unknown, b: unknown, m?: string): void },
  status: number,
  app: TestApp,
  method: string,
  path: string,
  options: Call = {},
): Promise<Response> {
  const res = await call(app, method, path, options);
  t.is(res.status, status, `${method} ${path}: ${res.status === status ? "" : await res.clone().text()}`);
  return res;
}

let keyNumber = 0;
const key = () => `contract-${++keyNumber}`;
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";
const spec = { hostname: "web-1", source: { template: TEMPLATE } };
const TOO_LARGE = `{"x":"${"x".repeat(4 * 1024 * 1024)}"}`;

/** The answers every route with a body, or with an Idempotency-Key, gives for a bad body or key. */
async function bodyAndKeyErrors(
  t: Parameters<typeof expect>[0],
  ctx: Ctx,
  method: string,
  path: string,
  body: unknown,
): Promise<void> {
  await expect(t, 415, ctx.app, method, path, { body: JSON.stringify(body), contentType: "text/plain", key: key() });
  await expect(t, 413, ctx.app, method, path, { body: TOO_LARGE, key: key() });
  await expect(t, 400, ctx.app, method, path, { body: "{", key: key() });
}

async function keyErrors(
  t: Parameters<typeof expect>[0],
  ctx: Ctx,
  method: string,
  path: string,
  body?: unknown,
): Promise<void> {
  await expect(t, 400, ctx.app, method, path, { body });
  const inFlight = key();
  const text = body === undefined ? "" : JSON.stringify(body);
  await ctx.keys.claim({
    claimToken: "another-request",
    scope: ctx.app.tokenId,
    key: inFlight,
    method,
    path,
    fingerprint: requestFingerprint(method, path, text),
  });
  await expect(t, 409, ctx.app, method, path, { body, key: inFlight });
  const reused = key();
  await ctx.keys.claim({
    claimToken: "another-request",
    scope: ctx.app.tokenId,
    key: reused,
    method,
    path: "/v1/elsewhere",
    fingerprint: "another",
  });
  await expect(t, 422, ctx.app, method, path, { body, key: reused });
}

test.serial("the health routes answer 200, and readiness 503 when the database does not answer", async (t) => {
  await expect(t, 200, t.context.app, "GET", "/healthz", { token: null });
  await expect(t, 200, t.context.app, "GET", "/readyz", { token: null });
  const refusing = Object.create(t.context.db.pool, {
    query: { value: () => Promise.reject(new Error("connect ECONNREFUSED")) },
  }) as typeof t.context.db.pool;
  const down = await testApp(t.context.db.pool, systemClock, { pool: refusing });
  await expect(t, 503, down, "GET", "/readyz", { token: null });
});

test.serial("the metrics and the document itself answer 200", async (t) => {
  await expect(t, 200, t.context.app, "GET", "/metrics");
  await expect(t, 200, t.context.app, "GET", "/openapi.json");
});

test.serial("registering a node answers 201, 409 for a name taken, and each body and key error", async (t) => {
  const pve1 = { name: "pve1", address: t.context.agent.client.target };
  await expect(t, 201, t.context.app, "POST", "/v1/nodes", { body: pve1, key: key() });
  await expect(t, 201, t.context.app, "POST", "/v1/nodes", {
    body: { name: "pve8", address: "127.0.0.1:1" },
    key: key(),
  });
  await expect(t, 409, t.context.app, "POST", "/v1/nodes", { body: pve1, key: key() });
  await bodyAndKeyErrors(t, t.context, "POST", "/v1/nodes", pve1);
  await keyErrors(t, t.context, "POST", "/v1/nodes", { name: "pve7", address: "127.0.0.1:2" });
  await expect(t, 403, t.context.app, "POST", "/v1/nodes", { body: pve1, key: key(), token: t.context.reader });
});

test.serial("the node routes answer 200, 400 for a malformed name and 404 for an unknown one", async (t) => {
  await expect(t, 200, t.context.app, "GET", "/v1/nodes");
  for (const suffix of ["", "/health", "/locks/300", "/containers/300"]) {
    await expect(t, 200, t.context.app, "GET", `/v1/nodes/pve1${suffix}`);
    await expect(t, 400, t.context.app, "GET", `/v1/nodes/-pve${suffix}`);
    await expect(t, 404, t.context.app, "GET", `/v1/nodes/pve9${suffix}`);
  }
});

test.serial("the routes that ask a node's agent answer 503 when it cannot be reached", async (t) => {
  for (const suffix of ["/health", "/locks/300", "/containers/300"])
    await expect(t, 503, t.context.app, "GET", `/v1/nodes/pve8${suffix}`);
});

test.serial("maintenance answers 200 in and out, 400, 404, and each body and key error", async (t) => {
  await expect(t, 200, t.context.app, "POST", "/v1/nodes/pve8/maintenance", {
    body: { reason: "disk swap" },
    key: key(),
  });
  await expect(t, 400, t.context.app, "POST", "/v1/nodes/-pve/maintenance", { body: {}, key: key() });
  await expect(t, 404, t.context.app, "POST", "/v1/nodes/pve9/maintenance", { body: {}, key: key() });
  await bodyAndKeyErrors(t, t.context, "POST", "/v1/nodes/pve8/maintenance", {});
  await keyErrors(t, t.context, "POST", "/v1/nodes/pve8/maintenance", {});
  await expect(t, 403, t.context.app, "POST", "/v1/nodes/pve8/maintenance", {
    body: {},
    key: key(),
    token: t.context.reader,
  });
  await expect(t, 200, t.context.app, "DELETE", "/v1/nodes/pve1/maintenance", { key: key() });
  await expect(t, 400, t.context.app, "DELETE", "/v1/nodes/-pve/maintenance", { key: key() });
  await expect(t, 404, t.context.app, "DELETE", "/v1/nodes/pve9/maintenance", { key: key() });
  await keyErrors(t, t.context, "DELETE", "/v1/nodes/pve1/maintenance");
  await expect(t, 403, t.context.app, "DELETE", "/v1/nodes/pve1/maintenance", { key: key(), token: t.context.reader });
});

test.serial(
  "a create answers 202, 400, 503 for a node in maintenance, 429 when no port is free, and each body and key error",
  async (t) => {
    await expect(t, 202, t.context.app, "POST", "/v1/containers", { body: { node: "pve1", spec }, key: key() });
    await expect(t, 400, t.context.app, "POST", "/v1/containers", { body: { node: "pve9", spec }, key: key() });
    await expect(t, 503, t.context.app, "POST", "/v1/containers", { body: { node: "pve8", spec }, key: key() });
    // The test app's port range holds 100 ports: the fourth create of 32 finds too few.
    for (let i = 0; i < 3; i++)
      await expect(t, 202, t.context.app, "POST", "/v1/containers", {
        body: { node: "pve1", ports: 32, spec: { ...spec, hostname: `big-${i}` } },
        key: key(),
      });
    await expect(t, 429, t.context.app, "POST", "/v1/containers", {
      body: { node: "pve1", ports: 32, spec },
      key: key(),
    });
    await bodyAndKeyErrors(t, t.context, "POST", "/v1/containers", { node: "pve1", spec });
    await keyErrors(t, t.context, "POST", "/v1/containers", { node: "pve1", spec });
    await expect(t, 403, t.context.app, "POST", "/v1/containers", {
      body: { node: "pve1", spec },
      key: key(),
      token: t.context.reader,
    });
  },
);

test.serial(
  "a container's routes answer 200 and 202, 400 for a malformed ID, 404 for an unknown one, and 409 for an apply to a deleted container",
  async (t) => {
    const created = (await (
      await expect(t, 202, t.context.app, "POST", "/v1/containers", {
        body: { node: "pve1", spec: { ...spec, hostname: "web-2" } },
        key: key(),
      })
    ).json()) as { id: string; operation: { id: string } };
    await expect(t, 200, t.context.app, "GET", "/v1/containers");
    await expect(t, 400, t.context.app, "GET", "/v1/containers?limit=0");
    await expect(t, 200, t.context.app, "GET", `/v1/containers/${created.id}`);
    await expect(t, 400, t.context.app, "GET", "/v1/containers/nope");
    await expect(t, 404, t.context.app, "GET", `/v1/containers/${UNKNOWN_ID}`);
    await expect(t, 202, t.context.app, "POST", `/v1/containers/${created.id}/apply`, { key: key() });
    await expect(t, 400, t.context.app, "POST", "/v1/containers/nope/apply", { key: key() });
    await expect(t, 404, t.context.app, "POST", `/v1/containers/${UNKNOWN_ID}/apply`, { key: key() });
    await bodyAndKeyErrors(t, t.context, "POST", `/v1/containers/${created.id}/apply`, {});
    await keyErrors(t, t.context, "POST", `/v1/containers/${created.id}/apply`, {});
    await expect(t, 403, t.context.app, "POST", `/v1/containers/${created.id}/apply`, {
      key: key(),
      token: t.context.reader,
    });
    await expect(t, 202, t.context.app, "DELETE", `/v1/containers/${created.id}`, { key: key() });
    await expect(t, 409, t.context.app, "POST", `/v1/containers/${created.id}/apply`, { key: key() });
    await expect(t, 400, t.context.app, "DELETE", "/v1/containers/nope", { key: key() });
    await expect(t, 404, t.context.app, "DELETE", `/v1/containers/${UNKNOWN_ID}`, { key: key() });
    await keyErrors(t, t.context, "DELETE", `/v1/containers/${created.id}`);
    await expect(t, 403, t.context.app, "DELETE", `/v1/containers/${created.id}`, {
      key: key(),
      token: t.context.reader,
    });
  },
);

test.serial(
  "an operation's routes answer 200, 400 and 404; its event stream ends with the finished operation",
  async (t) => {
    const created = (await (
      await expect(t, 202, t.context.app, "POST", "/v1/containers", {
        body: { node: "pve1", spec: { ...spec, hostname: "web-3" } },
        key: key(),
      })
    ).json()) as { id: string };
    // A delete of a create that never started finishes at once, so its stream ends.
    const deleted = (await (
      await expect(t, 202, t.context.app, "DELETE", `/v1/containers/${created.id}`, { key: key() })
    ).json()) as { operation: { id: string } };
    await expect(t, 200, t.context.app, "GET", `/v1/operations/${deleted.operation.id}`);
    const events = await expect(t, 200, t.context.app, "GET", `/v1/operations/${deleted.operation.id}/events`);
    t.regex(await events.text(), /event: operation/);
    for (const suffix of ["", "/events"]) {
      await expect(t, 400, t.context.app, "GET", `/v1/operations/nope${suffix}`);
      await expect(t, 404, t.context.app, "GET", `/v1/operations/${UNKNOWN_ID}${suffix}`);
    }
  },
);

test.serial(
  "the incident log, drift and a reconcile pass answer 200, and 400 for a malformed query or key",
  async (t) => {
    await expect(t, 200, t.context.app, "GET", "/v1/incidents");
    await expect(t, 400, t.context.app, "GET", "/v1/incidents?limit=0");
    await expect(t, 200, t.context.app, "GET", "/v1/drift");
    await expect(t, 400, t.context.app, "GET", "/v1/drift?kind=nope");
    await expect(t, 200, t.context.app, "POST", "/v1/reconcile", { key: key() });
    await keyErrors(t, t.context, "POST", "/v1/reconcile");
    await expect(t, 403, t.context.app, "POST", "/v1/reconcile", { key: key(), token: t.context.reader });
  },
);

test.serial("every route with a token answers 401 without one and 429 over its token's rate", async (t) => {
  await call(t.context.limited, "GET", "/v1/nodes");
  for (const [path, ops] of Object.entries(openApiDocument().paths as Record<string, Record<string, unknown>>)) {
    if (path === "/healthz" || path === "/readyz") continue;
    const concrete = path.replace("{name}", "pve1").replace("{vmid}", "300").replace("{id}", UNKNOWN_ID);
    for (const method of Object.keys(ops).map((m) => m.toUpperCase())) {
      const options = method === "GET" ? {} : { key: key(), body: {} };
      await expect(t, 401, t.context.app, method, concrete, { ...options, token: null });
      await expect(t, 429, t.context.limited, method, concrete, options);
    }
  }
});

test.serial("every status the document lists for a route was received above, but those named with a reason", (t) => {
  const doc = openApiDocument() as {
    paths: Record<string, Record<string, { responses: Record<string, { description?: string }> }>>;
  };
  const missing: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (UNREACHED[status] || received.has(`${method} ${path} ${status}`)) continue;
        if (status === "503" && response.description?.split("\n\n").every((line) => line.includes(DATABASE_ONLY_503)))
          continue;
        missing.push(`${method.toUpperCase()} ${path} ${status}`);
      }
    }
  }
  t.deepEqual(missing, []);
  t.log(
    `${received.size} route and status pairs received; not provoked: ${Object.entries(UNREACHED)
      .map(([s, why]) => `${s} (${why})`)
      .join("; ")}`,
  );
});
