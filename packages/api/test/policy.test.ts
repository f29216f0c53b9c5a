// What a token may ask of a hypervisor. The default policy draws Proxmox's own line between
// root@pam and everyone else: pve-container src/PVE/API2/LXC.pm create_vm (a privileged
// container needs Sys.Modify on /) and src/PVE/LXC.pm check_ct_modify_config_perm (feature
// flags other than nesting are root@pam's alone; raw lxc.* keys such as an AppArmor profile
// cannot be set through Proxmox's API at all).
import anyTest, { type TestFn } from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { createMemoryLogger, parsePolicy, systemClock, type Policy } from "@lockstep/shared";
import { migrate } from "../src/db/migrate.js";
import { migrations } from "../src/db/migrations/index.js";
import { policyFindings } from "../src/reconcile/policy-drift.js";
import { createTestDatabase, type TestDatabase } from "./support/test-database.js";
import { testApp, type TestApp } from "./support/test-app.js";

const test = anyTest as TestFn<{ db: TestDatabase; app: TestApp }>;

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const spec = (extra: Record<string, unknown> = {}) => ({ hostname: "web-1", source: { template: TEMPLATE }, ...extra });

interface Problem {
  type: string;
  status: number;
  code: string;
  rule: string;
  violations: { rule: string; pointer: string; reason: string }[];
}

test.beforeEach(async (t) => {
  const db = await createTestDatabase();
  await migrate(db.pool, migrations, createMemoryLogger());
  const app = await testApp(db.pool, systemClock, { vmids: { min: 1000, max: 1999 } });
  t.context = { db, app };
  const res = await app.request("/v1/nodes", {
    method: "POST",
    body: JSON.stringify({ name: "pve1", address: "127.0.0.1:7000" }),
    headers: { "content-type": "application/json", "idempotency-key": "setup-node" },
  });
  t.is(res.status, 201);
});
test.afterEach.always(async (t) => t.context.db?.drop());

/** An operator token with `policy` (null: the global one); returns a sender of its requests. */
async function operator(app: TestApp, policy: Partial<Policy> | null = null) {
  const { token, record } = await app.tokens.create("panel", "operator", policy ? parsePolicy(policy, "test") : null);
  const send = (method: string, path: string, body: unknown, key: string) =>
    app.raw(path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": key },
    });
  return {
    tokenId: record.tokenId,
    send,
    create: (body: Record<string, unknown>, key: string) =>
      send("POST", "/v1/containers", { node: "pve1", ...body }, key),
  };
}

async function count(db: TestDatabase, table: string): Promise<number> {
  const [rows] = await db.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

async function refusal(t: { is: (a: unknown, b: unknown) => void }, res: Response): Promise<Problem> {
  t.is(res.status, 403);
  const problem = (await res.json()) as Problem;
  t.is(problem.type, "urn:lockstep:problem:policy-violation");
  t.is(problem.code, "PERMISSION_DENIED");
  return problem;
}

test("a privileged container is refused with 403 naming the rule and the field, and nothing is written", async (t) => {
  const panel = await operator(t.context.app);
  const problem = await refusal(t, await panel.create({ spec: spec({ security: { unprivileged: false } }) }, "k1"));
  t.is(problem.rule, "privileged");
  t.deepEqual(
    problem.violations.map((v) => [v.rule, v.pointer]),
    [["privileged", "/spec/security/unprivileged"]],
  );
  t.is(await count(t.context.db, "containers"), 0);
  t.is(await count(t.context.db, "operations"), 0);
  t.is(await count(t.context.db, "vmid_allocations"), 0);
});

test("a refused request leaves its Idempotency-Key unused, so the same key works once the request is allowed", async (t) => {
  const panel = await operator(t.context.app);
  await refusal(t, await panel.create({ spec: spec({ security: { unprivileged: false } }) }, "k1"));
  t.is((await panel.create({ spec: spec() }, "k1")).status, 202);
});

test("an unconfined AppArmor profile is refused, and so is any raw profile the policy does not name", async (t) => {
  const panel = await operator(t.context.app);
  for (const profile of ["unconfined", "lxc-custom"]) {
    const problem = await refusal(
      t,
      await panel.create({ spec: spec({ security: { apparmor_profile: profile } }) }, profile),
    );
    t.is(problem.rule, "apparmor_profile");
    t.is(problem.violations[0]!.pointer, "/spec/security/apparmor_profile");
  }
});

test("nesting is allowed by default and keyctl is refused, as Proxmox allows only nesting to users other than root@pam", async (t) => {
  const panel = await operator(t.context.app);
  t.is((await panel.create({ spec: spec({ security: { nesting: true } }) }, "nesting")).status, 202);
  const problem = await refusal(t, await panel.create({ spec: spec({ security: { keyctl: true } }) }, "keyctl"));
  t.is(problem.rule, "feature_flag");
  t.is(problem.violations[0]!.pointer, "/spec/security/keyctl");
});

test("resources over the token's ceilings are refused, each at its field", async (t) => {
  const panel = await operator(t.context.app, { max: { cores: 2, memory_mb: 1024, swap_mb: 512, disk_gb: 20 } });
  const big = spec({ resources: { cores: 4, memory_mb: 2048, swap_mb: 0, disk_gb: 50 } });
  const problem = await refusal(t, await panel.create({ spec: big }, "big"));
  t.deepEqual(
    problem.violations.map((v) => [v.rule, v.pointer]),
    [
      ["max_cores", "/spec/resources/cores"],
      ["max_memory_mb", "/spec/resources/memory_mb"],
      ["max_disk_gb", "/spec/resources/disk_gb"],
    ],
  );
  t.is((await panel.create({ spec: spec({ resources: { cores: 2, memory_mb: 1024 } }) }, "fits")).status, 202);
});

test("a template, a storage or a node the token's policy does not match is refused", async (t) => {
  const panel = await operator(t.context.app, {
    templates: ["local:vztmpl/debian-*"],
    storages: ["local-lvm"],
    nodes: ["pve2"],
  });
  const foreign = spec({ source: { template: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz" } });
  const problem = await refusal(t, await panel.create({ spec: foreign }, "alpine"));
  t.deepEqual(
    problem.violations.map((v) => [v.rule, v.pointer]),
    [
      ["template", "/spec/source/template"],
      ["node", "/node"],
    ],
  );
  const zfs = await refusal(t, await panel.create({ spec: spec({ resources: { storage: "tank" } }) }, "zfs"));
  t.true(zfs.violations.some((v) => v.rule === "storage" && v.pointer === "/spec/resources/storage"));
});

test("a clone is refused unless its source is one the policy names: a clone copies another guest's disk", async (t) => {
  const panel = await operator(t.context.app, { clone_sources: [9000] });
  const problem = await refusal(t, await panel.create({ spec: spec({ source: { clone: { vmid: 9001 } } }) }, "9001"));
  t.is(problem.rule, "clone_source");
  t.is(problem.violations[0]!.pointer, "/spec/source/clone/vmid");
  t.is((await panel.create({ spec: spec({ source: { clone: { vmid: 9000 } } }) }, "9000")).status, 202);
});

test("a token over its container quota is refused, and a deleted container frees its place", async (t) => {
  const panel = await operator(t.context.app, { max_containers: 1 });
  const first = (await (await panel.create({ spec: spec() }, "first")).json()) as { id: string };
  const problem = await refusal(t, await panel.create({ spec: spec() }, "second"));
  t.is(problem.rule, "max_containers");
  t.regex(problem.violations[0]!.reason, /holds 1 of its 1 containers/);
  t.is((await panel.send("DELETE", `/v1/containers/${first.id}`, undefined, "delete-first")).status, 202);
  t.is((await panel.create({ spec: spec() }, "third")).status, 202);
});

test("concurrent creates of one token never exceed its quota", async (t) => {
  const panel = await operator(t.context.app, { max_containers: 3 });
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => panel.create({ spec: spec({ hostname: `web-${i}` }) }, `c${i}`)),
  );
  t.is(answers.filter((r) => r.status === 202).length, 3);
  t.is(answers.filter((r) => r.status === 403).length, 9);
  t.is(await count(t.context.db, "containers"), 3);
});

test("an apply that widens a container beyond the policy is refused, and the record keeps its spec", async (t) => {
  const panel = await operator(t.context.app, { max: { cores: 2 } });
  const created = (await (await panel.create({ spec: spec() }, "create")).json()) as { id: string };
  const widen = { spec: spec({ resources: { cores: 8 }, security: { unprivileged: true, keyctl: true } }) };
  const problem = await refusal(t, await panel.send("POST", `/v1/containers/${created.id}/apply`, widen, "widen"));
  t.deepEqual(problem.violations.map((v) => v.rule).sort(), ["feature_flag", "max_cores"]);
  const [[row]] = await t.context.db.pool.query<RowDataPacket[]>("SELECT spec FROM containers WHERE id = ?", [
    created.id,
  ]);
  const stored = (typeof row!.spec === "string" ? JSON.parse(row!.spec) : row!.spec) as {
    resources: { cores: number };
  };
  t.is(stored.resources.cores, 1);
  t.is(await count(t.context.db, "operations WHERE kind = 'apply'"), 0);
});

test("every refusal is an incident naming the token and the rule", async (t) => {
  const panel = await operator(t.context.app);
  await refusal(t, await panel.create({ spec: spec({ security: { unprivileged: false } }) }, "k1"));
  const res = await t.context.app.request("/v1/incidents?kind=policy-refused");
  const { incidents } = (await res.json()) as { incidents: { node: string; detail: string; severity: string }[] };
  t.is(incidents.length, 1);
  t.like(incidents[0], { node: "pve1", severity: "warning" });
  t.regex(
    incidents[0]!.detail,
    new RegExp(`token ${panel.tokenId} \\('panel'\\): create refused \\(rule privileged\\)`),
  );
});

test("a token's own policy widens the global one for it alone", async (t) => {
  const trusted = await operator(t.context.app, { privileged: true });
  const other = await operator(t.context.app);
  const privileged = { spec: spec({ security: { unprivileged: false } }) };
  t.is((await trusted.create(privileged, "trusted")).status, 202);
  await refusal(t, await other.create(privileged, "other"));
});

test("a policy narrowed later marks the container in its record, and nothing is changed or queued", async (t) => {
  const panel = await operator(t.context.app, { max: { cores: 4 } });
  const created = (await (await panel.create({ spec: spec({ resources: { cores: 4 } }) }, "create")).json()) as {
    id: string;
    policy: { compliant: boolean };
  };
  t.true(created.policy.compliant);
  await t.context.app.tokens.setPolicy(panel.tokenId, parsePolicy({ max: { cores: 2 } }, "test"));
  const res = await t.context.app.request(`/v1/containers/${created.id}`);
  const record = (await res.json()) as { spec: { resources: { cores: number } }; policy: unknown };
  t.deepEqual(record.policy, {
    compliant: false,
    violations: [
      { rule: "max_cores", pointer: "/spec/resources/cores", reason: "4 is over the policy's ceiling of 2" },
    ],
  });
  t.is(record.spec.resources.cores, 4);
  t.is(await count(t.context.db, "operations"), 1, "only the create");
});

test("a policy narrowed later is a drift finding of the container's node, naming the token and the rule", async (t) => {
  const panel = await operator(t.context.app, { privileged: true });
  const created = (await (
    await panel.create({ spec: spec({ security: { unprivileged: false } }) }, "create")
  ).json()) as { id: string; vmid: number };
  t.deepEqual(await policyFindings(t.context.db.pool, "pve1", parsePolicy({}, "test")), []);
  await t.context.app.tokens.setPolicy(panel.tokenId, null);
  const [finding] = await policyFindings(t.context.db.pool, "pve1", parsePolicy({}, "test"));
  t.like(finding, { kind: "policy", node: "pve1", vmid: created.vmid, containerId: created.id });
  t.regex(finding!.detail, /exceeds the global policy: rule privileged at \/spec\/security\/unprivileged/);
});
