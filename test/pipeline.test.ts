import { readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { readCalls, startedCalls } from "@lockstep/sim";
import { appSpec, APP_READS, TEMPLATE } from "./support/app-spec.js";
import { post, startApi, startCluster, waitForOperation, type ApiUnderTest } from "./support/cluster.js";
import { sideEffects } from "./support/side-effects.js";

interface Step {
  name: string;
  status: string;
  changed: boolean;
  detail: string;
  error: { code: string; message: string } | null;
}
interface Operation {
  id: string;
  status: string;
  steps: Step[];
  result: { changed_steps: string[] } | null;
  error: { code: string; message: string } | null;
}

async function operation(api: ApiUnderTest, id: string): Promise<Operation> {
  await waitForOperation(api, id);
  return (await (await api.fetch(`/v1/operations/${id}`)).json()) as Operation;
}

async function create(
  api: ApiUnderTest,
  spec: unknown,
  key: string,
): Promise<{ id: string; vmid: number; operation_id: string }> {
  const res = await post(api, "/v1/containers", { node: "pve1", spec }, key);
  if (res.status !== 202) throw new Error(`create: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; vmid: number; operation_id: string };
}

async function apply(api: ApiUnderTest, id: string, body: unknown, key: string): Promise<Response> {
  return post(api, `/v1/containers/${id}/apply`, body, key);
}

function nodeState(root: string, vmid: number): string {
  return readFileSync(path.join(root, "etc/pve/lxc", `${vmid}.conf`), "utf8");
}

test.serial("a spec becomes a running container with every step recorded on its operation", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const created = await create(cluster.api, appSpec(), "spec-create");
  const op = await operation(cluster.api, created.operation_id);
  t.is(op.status, "succeeded", JSON.stringify(op.error));
  t.deepEqual(
    op.steps.map((s) => s.name),
    [
      "create",
      "configure",
      "apparmor",
      "start",
      "feature:docker",
      "feature:motd",
      "file:/etc/app/app.conf",
      "service:app.service",
      "script",
      "health:app",
      "snapshot",
      "prune",
      "ready",
    ],
  );
  t.deepEqual(
    op.steps.filter((s) => !s.changed).map((s) => s.name),
    ["configure", "health:app", "prune", "ready"],
  );
  t.deepEqual(
    op.result?.changed_steps,
    op.steps.filter((s) => s.changed).map((s) => s.name),
  );
  t.regex(nodeState(cluster.agents.get("pve1")!.root, created.vmid), /^lxc\.apparmor\.profile: unconfined$/m);
});

test.serial("the same spec applied twice changes nothing the second time and leaves no new side effect", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const root = cluster.agents.get("pve1")!.root;
  const created = await create(cluster.api, appSpec(), "twice-create");
  t.is((await operation(cluster.api, created.operation_id)).status, "succeeded");
  const effectsBefore = sideEffects(root, created.vmid, APP_READS);
  const stateBefore = nodeState(root, created.vmid);
  const res = await apply(cluster.api, created.id, {}, "twice-apply");
  t.is(res.status, 202);
  const second = await operation(cluster.api, ((await res.json()) as { operation: { id: string } }).operation.id);
  t.is(second.status, "succeeded", JSON.stringify(second.error));
  t.deepEqual(second.result?.changed_steps, []);
  t.deepEqual(
    second.steps.filter((s) => s.changed),
    [],
  );
  t.deepEqual(sideEffects(root, created.vmid, APP_READS), effectsBefore);
  t.is(nodeState(root, created.vmid), stateBefore);
});

test.serial("a feature whose guard passes is skipped and its action never runs", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const feature = { name: "present", guard: ["true"], action: ["touch", "/should-not-exist"] };
  const created = await create(
    cluster.api,
    { hostname: "web-1", source: { template: TEMPLATE }, features: [feature] },
    "guard-passes",
  );
  const op = await operation(cluster.api, created.operation_id);
  t.like(
    op.steps.find((s) => s.name === "feature:present"),
    { status: "skipped", changed: false, detail: "guard passed" },
  );
  t.false(
    readCalls(cluster.agents.get("pve1")!.root).some(
      (c) => c.event === "start" && c.argv.includes("/should-not-exist"),
    ),
  );
});

test.serial("a feature whose action leaves its guard failing fails the job with both outputs", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const created = await create(
    cluster.api,
    { hostname: "gpu-1", source: { template: TEMPLATE }, features: ["nvidia"] },
    "nvidia",
  );
  const op = await operation(cluster.api, created.operation_id);
  t.is(op.status, "failed");
  t.is(op.error?.code, "VERIFICATION_FAILED");
  t.regex(
    op.error!.message,
    /feature 'nvidia': the action ran \(exit 0; stdout: .*Reading package lists.*\), but the guard still fails \(exit 9; stderr: NVIDIA-SMI has failed/s,
  );
  t.like(
    op.steps.find((s) => s.name === "feature:nvidia"),
    { status: "failed" },
  );
  t.false(
    op.steps.some((s) => s.name === "snapshot"),
    "nothing after the failed step ran",
  );
});

test.serial("an invalid spec is refused with the field and the reason, and nothing is created", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const res = await post(
    cluster.api,
    "/v1/containers",
    {
      node: "pve1",
      spec: { hostname: "web-1", source: { template: TEMPLATE }, files: [{ path: "/etc/../shadow", content: "x" }] },
    },
    "bad-spec",
  );
  t.is(res.status, 400);
  const problem = (await res.json()) as { errors: { pointer: string; reason: string }[] };
  t.deepEqual(problem.errors, [{ pointer: "/spec/files/0/path", reason: "must not contain '..'" }]);
  const [rows] = await cluster.db.pool.query("SELECT COUNT(*) AS n FROM containers");
  t.is((rows as { n: number }[])[0]!.n, 0);
  t.deepEqual(startedCalls(cluster.agents.get("pve1")!.root, "create"), []);
});

test.serial("an apply may not change what is fixed at creation", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const created = await create(cluster.api, { hostname: "web-1", source: { template: TEMPLATE } }, "fixed-create");
  await operation(cluster.api, created.operation_id);
  const res = await apply(
    cluster.api,
    created.id,
    { spec: { hostname: "web-1", source: { template: TEMPLATE }, security: { unprivileged: false } } },
    "fixed-apply",
  );
  t.is(res.status, 400);
  t.deepEqual(((await res.json()) as { errors: unknown[] }).errors, [
    { pointer: "/spec/security/unprivileged", reason: "is fixed at creation and cannot change" },
  ]);
});

test.serial(
  "five applies with keep_last 3 leave the three newest Lockstep snapshots and every other snapshot",
  async (t) => {
    const cluster = await startCluster(t, ["pve1"], { LOCKSTEP_API_SNAPSHOT_KEEP_LAST: "1" });
    const agent = cluster.agents.get("pve1")!;
    const spec = (n: number) => ({
      hostname: "web-1",
      source: { template: TEMPLATE },
      files: [{ path: "/etc/release", content: `${n}\n` }],
      snapshot_retention: { keep_last: 3 },
    });
    const created = await create(cluster.api, spec(0), "retention-create");
    await operation(cluster.api, created.operation_id);
    await agent.pct(["snapshot", String(created.vmid), "before-upgrade"]);
    const taken: string[] = [];
    for (let n = 1; n <= 5; n++) {
      const res = await apply(cluster.api, created.id, { spec: spec(n) }, `retention-apply-${n}`);
      const op = await operation(cluster.api, ((await res.json()) as { operation: { id: string } }).operation.id);
      t.is(op.status, "succeeded", JSON.stringify(op.error));
      taken.push(/took (lockstep-[0-9a-f]+)/.exec(op.steps.find((s) => s.name === "snapshot")!.detail)![1]!);
    }
    const { snapshots } = await agent.client.listSnapshots({ vmid: created.vmid });
    t.deepEqual(snapshots.map((s) => s.name).sort(), ["before-upgrade", ...taken.slice(-3)].sort());
    const record = (await (await cluster.api.fetch(`/v1/containers/${created.id}`)).json()) as {
      snapshot_retention: unknown;
    };
    t.deepEqual(record.snapshot_retention, { keep_last: 3, source: "container" });
  },
);

test.serial("without its own retention a container keeps the global number of Lockstep snapshots", async (t) => {
  const cluster = await startCluster(t, ["pve1"], { LOCKSTEP_API_SNAPSHOT_KEEP_LAST: "1" });
  const spec = (n: number) => ({
    hostname: "web-1",
    source: { template: TEMPLATE },
    files: [{ path: "/etc/release", content: `${n}\n` }],
  });
  const created = await create(cluster.api, spec(0), "global-create");
  await operation(cluster.api, created.operation_id);
  const res = await apply(cluster.api, created.id, { spec: spec(1) }, "global-apply");
  await operation(cluster.api, ((await res.json()) as { operation: { id: string } }).operation.id);
  const { snapshots } = await cluster.agents.get("pve1")!.client.listSnapshots({ vmid: created.vmid });
  t.is(snapshots.length, 1);
  const record = (await (await cluster.api.fetch(`/v1/containers/${created.id}`)).json()) as {
    snapshot_retention: unknown;
  };
  t.deepEqual(record.snapshot_retention, { keep_last: 1, source: "global" });
});

test.serial("an operation's steps are streamed as server-sent events while it runs", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const created = await create(cluster.api, { hostname: "web-1", source: { template: TEMPLATE } }, "stream-create");
  const text = await (await cluster.api.fetch(`/v1/operations/${created.operation_id}/events`)).text();
  const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => ({
    event: m[1],
    data: JSON.parse(m[2]!) as { name?: string; status: string },
  }));
  t.like(events.at(-1), { event: "operation", data: { status: "succeeded" } });
  const ends = events.filter((e) => e.event === "step" && e.data.status !== "running").map((e) => e.data.name);
  t.deepEqual(ends, ["create", "configure", "apparmor", "start", "snapshot", "prune", "ready"]);
});

test.serial(
  "an API killed in the middle of a pipeline is replaced and the pipeline finishes with each side effect once",
  async (t) => {
    const cluster = await startCluster(t, ["pve1"], { LOCKSTEP_API_JOB_LEASE_MS: "1500" });
    const root = cluster.agents.get("pve1")!.root;
    const reference = await create(cluster.api, appSpec("ref-1"), "kill-reference");
    await operation(cluster.api, reference.operation_id);
    const created = await create(cluster.api, appSpec("ref-1"), "kill-victim");
    for (let i = 0; i < 200; i++) {
      const op = (await (await cluster.api.fetch(`/v1/operations/${created.operation_id}`)).json()) as Operation;
      if (op.steps.some((s) => s.name === "feature:docker" && s.status === "succeeded")) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await cluster.api.stop("SIGKILL");
    const replacement = await startApi(cluster.db.url, { LOCKSTEP_API_JOB_LEASE_MS: "1000" });
    t.teardown(() => replacement.stop());
    const op = await operation(replacement, created.operation_id);
    t.is(op.status, "succeeded", JSON.stringify(op.error));
    t.deepEqual(sideEffects(root, created.vmid, APP_READS), sideEffects(root, reference.vmid, APP_READS));
  },
);

test.serial(
  "a spec with a clone source clones the container, marks it as the record's own and converges it",
  async (t) => {
    const cluster = await startCluster(t, ["pve1"]);
    const agent = cluster.agents.get("pve1")!;
    await agent.pct(["create", "9000", TEMPLATE, "--storage", "local-lvm", "--hostname", "golden"]);
    const created = await create(
      cluster.api,
      { hostname: "clone-1", source: { clone: { vmid: 9000 } }, resources: { cores: 2 } },
      "clone-create",
    );
    const op = await operation(cluster.api, created.operation_id);
    t.is(op.status, "succeeded", JSON.stringify(op.error));
    t.like(
      op.steps.find((s) => s.name === "create"),
      { status: "succeeded", detail: `cloned CT 9000 to CT ${created.vmid}` },
    );
    const config = nodeState(agent.root, created.vmid);
    t.regex(config, new RegExp(`^tags: .*lockstep-${created.id}`, "m"));
    t.regex(config, /^cores: 2$/m);
    t.regex(config, /^hostname: clone-1$/m);
    t.is(startedCalls(agent.root, "clone").length, 1);
  },
);

test.serial("a node fault in the middle of a pipeline is retried and the pipeline completes", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const { writeFaults } = await import("@lockstep/sim");
  const root = cluster.agents.get("pve1")!.root;
  writeFaults(root, [{ command: "snapshot", action: "crash", times: 1 }]);
  const created = await create(cluster.api, { hostname: "web-1", source: { template: TEMPLATE } }, "fault-create");
  const op = await operation(cluster.api, created.operation_id);
  t.is(op.status, "succeeded", JSON.stringify(op.error));
  const { snapshots } = await cluster.agents.get("pve1")!.client.listSnapshots({ vmid: created.vmid });
  t.is(snapshots.length, 1);
  t.is(nodeState(root, created.vmid).match(/^lock:/m), null);
});
