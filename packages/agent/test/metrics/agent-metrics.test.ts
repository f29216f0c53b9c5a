import test from "ava";
import { createMemoryLogger } from "@lockstep/shared";
import { EventBus } from "../../src/events/event-bus.js";
import { AgentMetrics } from "../../src/metrics/agent-metrics.js";

test("every event on the bus is counted by its kind", async (t) => {
  const bus = new EventBus(createMemoryLogger());
  const metrics = new AgentMetrics(bus, () => 3);
  for (const kind of ["lock-detected", "lock-detected", "lock-cleared"] as const) bus.publish({ atMs: 0, node: "pve1", vmid: 150, kind, detail: "" });
  const text = await metrics.registry.metrics();
  t.regex(text, /lockstep_agent_events_total\{kind="lock-detected"\} 2/);
  t.regex(text, /lockstep_agent_events_total\{kind="lock-cleared"\} 1/);
  t.regex(text, /lockstep_agent_operations_running 3/);
});
