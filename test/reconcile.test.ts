import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { agentV1, systemClock } from "@lockstep/shared";
import { LeaseStore } from "../packages/api/src/leases/lease-store.js";
import { startedCalls, writeFaults } from "@lockstep/sim";
import { post, startApi, startCluster, waitForOperation, type ApiUnderTest } from "./support/cluster.js";
import { TEMPLATE } from "./support/app-spec.js";

type Rows = Record<string, unknown>[];
const NODE_CLI = fileURLToPath(new URL("../packages/agent/bin/lockstep-node.js", import.meta.url));

interface Finding {
  kind: string;
  node: string;
  vmid: number | null;
  container_id: string | null;
  detail: string;
  since: string;
}

let keys = 0;
async function reconcile(api: ApiUnderTest): Promise<{
  nodes: { node: string; reachable: boolean; skipped: boolean; repairs: { kind: string; action: string }[] }[];
}> {
  const res = await post(api, "/v1/reconcile", {}, `reconcile-${process.pid}-${keys++}`);
  if (res.status !== 200) throw new Error(`reconcile: ${res.status} ${await res.text()}`);
  return (await res.json()) as never;
}

async function drift(api: ApiUnderTest): Promise<Finding[]> {
  return ((await (await api.fetch(`/v1/drift`)).json()) as { findings: Finding[] }).findings;
}

async function created(api: ApiUnderTest, key: string): Promise<{ id: string; vmid: number }> {
  const body = (await (
    await post(
      api,
      "/v1/containers",
      { node: "pve1", spec: { hostname: "web-1", source: { template: TEMPLATE } } },
      key,
    )
  ).json()) as { id: string; vmid: number; operation_id: string };
  const op = await waitForOperation(api, body.operation_id);
  if (op.status !== "succeeded") throw new Error(`create ${key}: ${JSON.stringify(op)}`);
  return body;
}

test.serial("a container deleted behind Lockstep's back is found missing and its record marked failed", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const agent = cluster.agents.get("pve1")!;
  const ct = await created(cluster.api, "missing-1");
  await agent.pct(["destroy", String(ct.vmid), "--force", "1"]);
  await reconcile(cluster.api);
  t.deepEqual(
    (await drift(cluster.api)).map((f) => [f.kind, f.vmid, f.container_id]),
    [["missing", ct.vmid, ct.id]],
  );
  const record = (await (await cluster.api.fetch(`/v1/containers/${ct.id}`)).json()) as {
    status: string;
    observed_state: string;
  };
  t.like(record, { status: "failed", observed_state: "absent" });
  const [incidents] = await cluster.db.pool.query(
    "SELECT kind, detail FROM incidents WHERE kind LIKE 'drift-%' ORDER BY id",
  );
  t.deepEqual(
    (incidents as Rows).map((r) => `${r.kind}: ${r.kind === "drift-repair" ? r.detail : "..."}`),
    ["drift-missing: ...", "drift-repair: missing: record marked failed"],
  );
});

test.serial("with the recreate policy a missing container is created again by its pipeline", async (t) => {
  const cluster = await startCluster(t, ["pve1"], { LOCKSTEP_API_RECONCILE_MISSING: "recreate" });
  const agent = cluster.agents.get("pve1")!;
  const ct = await created(cluster.api, "recreate-1");
  await agent.pct(["destroy", String(ct.vmid), "--force", "1"]);
  await reconcile(cluster.api);
  for (let i = 0; i < 100 && startedCalls(agent.root, "create").length < 2; i++)
    await new Promise((r) => setTimeout(r, 100));
  const [ops] = await cluster.db.pool.query("SELECT id FROM operations WHERE container_id = ? AND kind = 'apply'", [
    ct.id,
  ]);
  t.is((await waitForOperation(cluster.api, (ops as Rows)[0]!.id as string)).status, "succeeded");
  await reconcile(cluster.api);
  t.deepEqual(await drift(cluster.api), []);
});

test.serial("an orphan is destroyed only after its grace period", async (t) => {
  const cluster = await startCluster(t, ["pve1"], { LOCKSTEP_API_RECONCILE_ORPHAN_GRACE_MS: "2000" });
  const agent = cluster.agents.get("pve1")!;
  const stray = "5d0c5a6e-1111-4111-8111-111111111111";
  await agent.pct([
    "create",
    "10500",
    TEMPLATE,
    "--storage",
    "local-lvm",
    "--tags",
    `lockstep;lockstep-${stray}`,
    "--start",
    "1",
  ]);
  await reconcile(cluster.api);
  t.deepEqual(
    (await drift(cluster.api)).map((f) => [f.kind, f.vmid]),
    [["orphan", 10500]],
  );
  t.is(startedCalls(agent.root, "destroy").length, 0, "not destroyed within the grace period");
  await new Promise((r) => setTimeout(r, 2100));
  const report = await reconcile(cluster.api);
  t.deepEqual(report.nodes[0]!.repairs, [{ kind: "orphan", vmid: 10500, action: "orphan destroyed" }]);
  t.is((await agent.client.listContainers({})).containers.length, 0);
  t.deepEqual(await drift(cluster.api), []);
});

test.serial("a foreign container keeps running and its VMID is never allocated", async (t) => {
  const cluster = await startCluster(t, ["pve1"], { LOCKSTEP_API_RECONCILE_ORPHAN_GRACE_MS: "0" });
  const agent = cluster.agents.get("pve1")!;
  await agent.pct(["create", "10000", TEMPLATE, "--storage", "local-lvm", "--hostname", "theirs", "--start", "1"]);
  await reconcile(cluster.api);
  t.deepEqual(
    (await drift(cluster.api)).map((f) => [f.kind, f.vmid]),
    [["foreign", 10000]],
  );
  const ct = await created(cluster.api, "after-foreign");
  t.is(ct.vmid, 10001);
  await reconcile(cluster.api);
  t.is(startedCalls(agent.root, "destroy").length, 0);
  t.deepEqual(
    startedCalls(agent.root, "create").map((c) => c.argv[1]),
    ["10000", "10001"],
  );
  t.is((await agent.client.getContainer({ vmid: 10000 })).container?.status, 1);
});

test.serial("a second container carrying one record's marker is reported as a duplicate", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const agent = cluster.agents.get("pve1")!;
  const ct = await created(cluster.api, "dup-1");
  await agent.pct(["create", "10900", TEMPLATE, "--storage", "local-lvm", "--tags", `lockstep;lockstep-${ct.id}`]);
  await reconcile(cluster.api);
  t.deepEqual(
    (await drift(cluster.api)).map((f) => [f.kind, f.vmid, f.container_id]),
    [["duplicate", 10900, ct.id]],
  );
  t.is(startedCalls(agent.root, "destroy").length, 0);
});

test.serial("a container stopped by hand is a state mismatch and its observed state is updated", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const ct = await created(cluster.api, "stopped-1");
  await cluster.agents.get("pve1")!.pct(["stop", String(ct.vmid)]);
  await reconcile(cluster.api);
  t.deepEqual(
    (await drift(cluster.api)).map((f) => f.kind),
    ["state-mismatch"],
  );
  const record = (await (await cluster.api.fetch(`/v1/containers/${ct.id}`)).json()) as { observed_state: string };
  t.is(record.observed_state, "stopped");
});

test.serial("a stale lock is found and cleared through the agent", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const agent = cluster.agents.get("pve1")!;
  const ct = await created(cluster.api, "lock-1");
  writeFaults(agent.root, [{ command: "snapshot", action: "crash", times: 1 }]);
  await agent.pct(["snapshot", String(ct.vmid), "half"]);
  await staleOn(agent, ct.vmid);
  const report = await reconcile(cluster.api);
  t.deepEqual(
    report.nodes[0]!.repairs.map((r) => r.kind),
    ["stale-lock"],
  );
  t.is((await agent.client.getContainer({ vmid: ct.vmid })).container?.lock, "");
  t.deepEqual(await drift(cluster.api), []);
});

test.serial("a stale lock on a foreign container is reported in its finding and never cleared", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const agent = cluster.agents.get("pve1")!;
  await agent.pct(["create", "150", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(agent.root, [{ command: "snapshot", action: "crash", times: 1 }]);
  await agent.pct(["snapshot", "150", "half"]);
  await staleOn(agent, 150);
  const report = await reconcile(cluster.api);
  t.deepEqual(report.nodes[0]!.repairs, []);
  t.is((await agent.client.getContainer({ vmid: 150 })).container?.lock, "snapshot");
  const foreign = (await drift(cluster.api)).find((f) => f.kind === "foreign");
  t.regex(foreign?.detail ?? "", /stale lock 'snapshot' is left to its owner/);
});

/** Waits, within a bound, until the agent judges the lock STALE (the grace period is real time). */
async function staleOn(
  agent: { client: { inspectLock(r: { vmid: number }): Promise<{ verdict: number }> } },
  vmid: number,
): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if ((await agent.client.inspectLock({ vmid })).verdict === agentV1.LockVerdict.STALE) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the lock of CT ${vmid} never became STALE`);
}

test.serial("a node that stops answering is reported and nothing on it is judged missing", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const ct = await created(cluster.api, "unreachable-1");
  await cluster.agents.get("pve1")!.stop("SIGKILL");
  const report = await reconcile(cluster.api);
  t.false(report.nodes[0]!.reachable);
  t.deepEqual(
    (await drift(cluster.api)).map((f) => f.kind),
    ["unreachable"],
  );
  const record = (await (await cluster.api.fetch(`/v1/containers/${ct.id}`)).json()) as { status: string };
  t.is(record.status, "running");
});

test.serial("passes in two API processes at once record each difference once", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const other = await startApi(cluster.db.url);
  t.teardown(() => other.stop());
  const agent = cluster.agents.get("pve1")!;
  for (const vmid of [10700, 10701, 10702])
    await agent.pct(["create", String(vmid), TEMPLATE, "--storage", "local-lvm"]);
  await Promise.all([reconcile(cluster.api), reconcile(other), reconcile(cluster.api), reconcile(other)]);
  t.deepEqual((await drift(cluster.api)).map((f) => `${f.kind} ${f.vmid}`).sort(), [
    "foreign 10700",
    "foreign 10701",
    "foreign 10702",
  ]);
  const [incidents] = await cluster.db.pool.query("SELECT COUNT(*) AS n FROM incidents WHERE kind = 'drift-foreign'");
  t.is((incidents as Rows)[0]!.n, 3);
});

test.serial(
  "a requested pass waits for a pass already judging the node, and judges what changed meanwhile",
  async (t) => {
    const cluster = await startCluster(t, ["pve1"]);
    // Another pass (of another process) is judging pve1: it holds the node's reconcile lease.
    const other = new LeaseStore(cluster.db.pool, systemClock, "another-api-process");
    const held = await other.acquire("reconcile/pve1", 60_000);
    t.truthy(held);
    const requested = reconcile(cluster.api);
    await cluster.agents.get("pve1")!.pct(["create", "10800", TEMPLATE, "--storage", "local-lvm"]);
    await other.release(held!);
    const report = await requested;
    t.like(report.nodes[0], { node: "pve1", skipped: false });
    t.deepEqual(
      (await drift(cluster.api)).map((f) => `${f.kind} ${f.vmid}`),
      ["foreign 10800"],
    );
  },
);

test.serial("one VMID's record, node truth and verdict are shown side by side", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const ct = await created(cluster.api, "compare-1");
  const inSync = (await (await cluster.api.fetch(`/v1/nodes/pve1/containers/${ct.vmid}`)).json()) as Record<
    string,
    unknown
  >;
  t.like(inSync, {
    vmid: ct.vmid,
    record: { id: ct.id },
    on_node: { status: "running", marked_record: ct.id, lock_verdict: "FREE" },
    verdict: { in_sync: true, findings: [] },
  });
  await cluster.agents.get("pve1")!.pct(["stop", String(ct.vmid)]);
  const stopped = (await (await cluster.api.fetch(`/v1/nodes/pve1/containers/${ct.vmid}`)).json()) as {
    verdict: { in_sync: boolean; findings: { kind: string }[] };
  };
  t.false(stopped.verdict.in_sync);
  t.deepEqual(
    stopped.verdict.findings.map((f) => f.kind),
    ["state-mismatch"],
  );
});

test.serial("the node CLI shows the record beside the node's truth, and the verdict", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const agent = cluster.agents.get("pve1")!;
  const ct = await created(cluster.api, "cli-compare-1");
  const compare = () =>
    spawnSync(
      process.execPath,
      [
        NODE_CLI,
        "--target",
        agent.client.target,
        "ct",
        "compare",
        String(ct.vmid),
        "--api",
        cluster.api.url,
        "--node",
        "pve1",
      ],
      { encoding: "utf8", env: { ...process.env, ...agent.cliEnv, LOCKSTEP_API_TOKEN: cluster.api.token } },
    );
  const inSync = compare();
  t.is(inSync.status, 0, inSync.stderr);
  t.regex(inSync.stdout, new RegExp(`record +${ct.id} \\(web-1\\) +-`));
  t.regex(inSync.stdout, /status +running, observed running +running/);
  t.regex(inSync.stdout, /verdict: in sync/);
  await agent.pct(["stop", String(ct.vmid)]);
  const drifted = compare();
  t.is(drifted.status, 1);
  t.regex(drifted.stdout, /verdict: state-mismatch: recorded running, stopped on the node/);
});

test.serial(
  "a pass during a running create judges neither the record missing nor its container an orphan",
  async (t) => {
    const cluster = await startCluster(t, ["pve1"]);
    const agent = cluster.agents.get("pve1")!;
    writeFaults(agent.root, [{ command: "create", action: "slow", ms: 1500 }]);
    const body = (await (
      await post(
        cluster.api,
        "/v1/containers",
        { node: "pve1", spec: { hostname: "web-1", source: { template: TEMPLATE } } },
        "busy-1",
      )
    ).json()) as { operation_id: string };
    for (let i = 0; i < 100 && startedCalls(agent.root, "create").length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    await reconcile(cluster.api);
    t.deepEqual(await drift(cluster.api), []);
    t.is((await waitForOperation(cluster.api, body.operation_id)).status, "succeeded");
    await reconcile(cluster.api);
    t.deepEqual(await drift(cluster.api), []);
  },
);
