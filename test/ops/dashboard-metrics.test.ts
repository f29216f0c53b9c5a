import { SuiteScope } from "@lockstep/shared";
import anyTest, { type TestFn } from "ava";
import { writeFaults } from "@lockstep/sim";
import { post, startCluster, waitForOperation } from "../support/cluster.js";
import { alertRules } from "./support/ops-files.js";
import { panelQueries, variableQueries, type DashboardQuery } from "./support/dashboard-queries.js";
import { mergeSamples, parseExposition, type Samples } from "./support/exposition.js";
import { selectorsOf } from "./support/promql-selectors.js";

type Cluster = Awaited<ReturnType<typeof startCluster>>;
const test = anyTest as TestFn<{
  cluster: Cluster;
  api: Samples;
  agent: Samples;
  failedCode: string;
  startedAt: number;
}>;

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

// Series Prometheus makes itself for every target, never exported by a process.
const SYNTHETIC = new Set(["up"]);
// Labels the scrape configuration gives every series of a target (docs/operations.md).
const TARGET_LABELS = new Set(["job", "instance", "node"]);

/**
 * A real API and agent after real work, so that labelled series exist: a container created,
 * one create failed for good, a foreign container found by a reconcile pass, a node whose
 * agent never answers (an open alert), a replayed request, a node in maintenance.
 */
const suite = new SuiteScope();

test.before(async (t) => {
  const startedAt = Date.now() / 1000;
  const cluster = await startCluster(suite, ["pve1"], {
    LOCKSTEP_API_HEALTH_INTERVAL_MS: "300",
    LOCKSTEP_API_HEALTH_PROBE_TIMEOUT_MS: "3000",
    LOCKSTEP_API_UNREACHABLE_ALERT_MS: "0",
  });
  const { api } = cluster;
  const agent = cluster.agents.get("pve1")!;
  await post(api, "/v1/nodes", { name: "pve2", address: "127.0.0.1:1" }, "register-dead");
  const created = (await (
    await post(
      api,
      "/v1/containers",
      { node: "pve1", spec: { hostname: "web-1", source: { template: TEMPLATE } } },
      "create-ok",
    )
  ).json()) as { operation_id: string; vmid: number };
  await waitForOperation(api, created.operation_id);
  writeFaults(agent.root, [
    { command: "create", action: "fail", message: "unable to create CT - no space left on device", times: 1 },
  ]);
  const failing = (await (
    await post(
      api,
      "/v1/containers",
      { node: "pve1", spec: { hostname: "web-2", source: { template: TEMPLATE } } },
      "create-failing",
    )
  ).json()) as { operation_id: string };
  const failed = (await waitForOperation(api, failing.operation_id)) as { status: string; error: { code: string } };
  if (failed.status !== "failed") throw new Error(`the failing create ended ${JSON.stringify(failed)}`);
  writeFaults(agent.root, []);
  await agent.pct(["create", "10500", TEMPLATE, "--storage", "local-lvm", "--hostname", "theirs"]);
  await post(api, "/v1/reconcile", {}, "reconcile");
  for (let i = 0; i < 2; i++) await agent.client.clearLock({ requestId: "ops-replayed-clear", vmid: created.vmid });
  for (let i = 0; i < 100 && !/^lockstep_alerts_open\{/m.test(await (await api.fetch("/metrics")).text()); i++)
    await new Promise((r) => setTimeout(r, 100));
  await api.fetch("/v1/nodes/pve1/maintenance", { method: "POST", headers: { "idempotency-key": "maintenance" } });
  const [apiText, agentText] = await Promise.all([
    (await api.fetch("/metrics")).text(),
    (await fetch(agent.metricsUrl!)).text(),
  ]);
  t.context = {
    cluster,
    api: parseExposition(apiText),
    agent: parseExposition(agentText),
    failedCode: failed.error.code,
    startedAt,
  };
});
test.afterEach.always((t) => suite.noteResult(t));
test.after.always(() => suite.close());

/** What in `queries` reads a metric no process exports, or a label its metric does not carry. */
function unexported(queries: readonly DashboardQuery[], samples: Samples): string[] {
  return queries.flatMap(({ where, expr }) =>
    selectorsOf(expr).flatMap(({ metric, labels }) => {
      if (SYNTHETIC.has(metric)) return [];
      const series = samples.get(metric);
      if (!series) return [`${where}: ${metric} is not exported`];
      return labels
        .filter((l) => !TARGET_LABELS.has(l) && !series.some((s) => l in s.labels))
        .map((l) => `${where}: ${metric} has no label '${l}'`);
    }),
  );
}

test("every metric and label the dashboard's panels query is exported, with samples, by the API or an agent", (t) => {
  const queries = panelQueries();
  t.true(queries.length >= 20);
  t.deepEqual(unexported(queries, mergeSamples(t.context.api, t.context.agent)), []);
});

test("the dashboard's node variable reads an exported metric", (t) => {
  const queries = variableQueries();
  t.deepEqual(
    queries.map((q) => q.expr),
    ["lockstep_agent_info"],
  );
  t.deepEqual(unexported(queries, t.context.agent), []);
  t.true(t.context.agent.get("lockstep_agent_info")!.some((s) => s.labels.node === "pve1"));
});

test("every metric and label the alerting rules use is exported, with samples, by the API or an agent", (t) => {
  const queries = alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }));
  t.deepEqual(unexported(queries, mergeSamples(t.context.api, t.context.agent)), []);
});

test("a job failed for good is counted by its kind and reason code", (t) => {
  t.deepEqual(t.context.api.get("lockstep_jobs_failed_total"), [
    { labels: { kind: "create", code: t.context.failedCode }, value: 1 },
  ]);
});

test("the oldest open drift finding of a node and kind is exported as when it was first seen", (t) => {
  const foreign = t.context.api
    .get("lockstep_drift_oldest_open_timestamp_seconds")
    ?.find((s) => s.labels.node === "pve1" && s.labels.kind === "foreign");
  t.truthy(foreign, "a foreign container was found on pve1");
  t.true(foreign!.value >= Math.floor(t.context.startedAt) && foreign!.value <= Date.now() / 1000, `${foreign!.value}`);
});

test("the API exports the expiry of the client certificate and the CA it reaches agents with", (t) => {
  const expiries = t.context.api.get("lockstep_api_tls_certificate_expiry_timestamp_seconds") ?? [];
  t.deepEqual(expiries.map((s) => s.labels.certificate).sort(), ["ca", "client"]);
  t.true(
    expiries.every((s) => s.value > Date.now() / 1000),
    "the test PKI's certificates are valid now",
  );
});
