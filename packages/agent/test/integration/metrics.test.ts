import test from "ava";
import { agentOnSim, TEMPLATE } from "./agent-harness.js";

async function scrape(url: string | null): Promise<string> {
  if (!url) throw new Error("metrics are off");
  return (await fetch(url)).text();
}

test("the agent's /metrics counts RPCs by outcome and dedup replays", async (t) => {
  const agent = await agentOnSim(t);
  const create = {
    requestId: "metrics-create-0001",
    vmid: 150,
    template: TEMPLATE,
    hostname: "web-1",
    unprivileged: true,
  };
  await agent.client.createContainer(create);
  await agent.client.createContainer(create);
  await agent.client.getContainer({ vmid: 99 }).catch(() => undefined);
  const text = await scrape(agent.metricsUrl);
  t.regex(text, /lockstep_agent_rpcs_total\{method="CreateContainer",outcome="OK"\} 2/);
  t.regex(text, /lockstep_agent_dedup_replays_total\{method="CreateContainer"\} 1/);
  t.regex(text, /lockstep_agent_rpcs_total\{method="GetContainer",outcome="INVALID_ARGUMENT"\} 1/);
  t.regex(text, /lockstep_agent_operations_running 0/);
});

test("anything but GET /metrics on the metrics port is 404", async (t) => {
  const agent = await agentOnSim(t);
  t.is((await fetch(agent.metricsUrl!.replace("/metrics", "/"))).status, 404);
});
