import path from "node:path";
import test from "ava";
import { createClusterCa, createMemoryLogger, issueNodeCertificate, LockstepError, scratchDir } from "@lockstep/shared";
import { EventBus } from "../../src/events/event-bus.js";
import { AgentMetrics, type HealthSample, type NodeSources } from "../../src/metrics/agent-metrics.js";
import type { PctResult } from "../../src/pct/pct-runner.js";
import { timedPctRunner } from "../../src/metrics/timed-pct-runner.js";

function sources(overrides: Partial<NodeSources> = {}): NodeSources {
  return {
    node: "pve1",
    version: "1.2.3",
    running: () => 3,
    requestStore: () => ({ records: 150, maxRecords: 1000, quarantined: 2 }),
    health: async () => ({ pctResponsive: true, clusterFsState: "ok" }),
    healthWaitMs: 1000,
    certificates: {},
    ...overrides,
  };
}

function agentMetrics(): { metrics: AgentMetrics; bus: EventBus } {
  const bus = new EventBus(createMemoryLogger());
  return { metrics: new AgentMetrics(bus), bus };
}

test("every event on the bus is counted by its kind", async (t) => {
  const { metrics, bus } = agentMetrics();
  for (const kind of ["lock-detected", "lock-detected", "lock-cleared"] as const)
    bus.publish({ atMs: 0, node: "pve1", vmid: 150, kind, detail: "" });
  const text = await metrics.registry.metrics();
  t.regex(text, /lockstep_agent_events_total\{kind="lock-detected"\} 2/);
  t.regex(text, /lockstep_agent_events_total\{kind="lock-cleared"\} 1/);
});

test("the node's gauges show operations running, the request store against its bound, its damaged records set aside and the agent's identity", async (t) => {
  const { metrics } = agentMetrics();
  metrics.watchNode(sources());
  const text = await metrics.registry.metrics();
  t.regex(text, /^lockstep_agent_operations_running 3$/m);
  t.regex(text, /^lockstep_agent_request_store_records 150$/m);
  t.regex(text, /^lockstep_agent_request_store_max_records 1000$/m);
  t.regex(text, /^lockstep_agent_request_records_quarantined_total 2$/m);
  t.regex(text, /^lockstep_agent_info\{node="pve1",version="1.2.3"\} 1$/m);
});

test("a healthy node shows pct responsive and pmxcfs ok", async (t) => {
  const { metrics } = agentMetrics();
  metrics.watchNode(sources({ health: async () => ({ pctResponsive: true, clusterFsState: "ok" }) }));
  const text = await metrics.registry.metrics();
  t.regex(text, /^lockstep_agent_pct_responsive 1$/m);
  t.regex(text, /^lockstep_agent_pmxcfs_state\{state="ok"\} 1$/m);
  t.regex(text, /^lockstep_agent_pmxcfs_state\{state="no-quorum"\} 0$/m);
});

test("a node without quorum shows pct unresponsive and pmxcfs in its state", async (t) => {
  const { metrics } = agentMetrics();
  const sample: HealthSample = { pctResponsive: false, clusterFsState: "no-quorum" };
  metrics.watchNode(sources({ health: async () => sample }));
  const text = await metrics.registry.metrics();
  t.regex(text, /^lockstep_agent_pct_responsive 0$/m);
  t.regex(text, /^lockstep_agent_pmxcfs_state\{state="ok"\} 0$/m);
  t.regex(text, /^lockstep_agent_pmxcfs_state\{state="no-quorum"\} 1$/m);
});

test("one scrape runs one health probe for both gauges", async (t) => {
  const { metrics } = agentMetrics();
  let probes = 0;
  metrics.watchNode(sources({ health: async () => (probes++, { pctResponsive: true, clusterFsState: "ok" }) }));
  await metrics.registry.metrics();
  t.is(probes, 1);
});

test("each certificate's expiry is exported by its role", async (t) => {
  const parent = scratchDir(t, "agent-metrics");
  const dir = path.join(parent, "pki");
  await createClusterCa(dir);
  const { cert } = await issueNodeCertificate(dir, "pve1", { days: 30 });
  const { metrics } = agentMetrics();
  metrics.watchNode(sources({ certificates: { node: cert, ca: path.join(dir, "ca.crt") } }));
  const text = await metrics.registry.metrics();
  const node = Number(
    /^lockstep_agent_tls_certificate_expiry_timestamp_seconds\{certificate="node"\} (\S+)$/m.exec(text)?.[1],
  );
  const ca = Number(
    /^lockstep_agent_tls_certificate_expiry_timestamp_seconds\{certificate="ca"\} (\S+)$/m.exec(text)?.[1],
  );
  t.true(Math.abs(node - (Date.now() / 1000 + 30 * 86_400)) < 120, `${node}`);
  t.true(ca > node);
});

test("pct calls are timed by subcommand and outcome", async (t) => {
  const { metrics } = agentMetrics();
  const results: (PctResult | Error)[] = [
    { exitCode: 0, stdout: "", stderr: "", durationMs: 1 },
    { exitCode: 2, stdout: "", stderr: "no", durationMs: 1 },
    new LockstepError("HYPERVISOR_UNRESPONSIVE", "pct timed out"),
  ];
  const runner = {
    run: async () => {
      const r = results.shift()!;
      if (r instanceof Error) throw r;
      return r;
    },
  };
  const pct = timedPctRunner(runner, metrics);
  await pct.run(["list"]);
  await pct.run(["config", "150"]);
  await t.throwsAsync(pct.run(["list"]), { instanceOf: LockstepError });
  const text = await metrics.registry.metrics();
  t.regex(text, /^lockstep_agent_pct_duration_seconds_count\{command="list",outcome="ok"\} 1$/m);
  t.regex(text, /^lockstep_agent_pct_duration_seconds_count\{command="config",outcome="exit-nonzero"\} 1$/m);
  t.regex(text, /^lockstep_agent_pct_duration_seconds_count\{command="list",outcome="HYPERVISOR_UNRESPONSIVE"\} 1$/m);
});
