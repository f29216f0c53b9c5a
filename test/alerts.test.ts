import { createServer, type Server } from "node:http";
import test from "ava";
import { startedCalls, writeFaults } from "@lockstep/sim";
import { post, startCluster, waitForOperation } from "./support/cluster.js";
import { TEMPLATE } from "./support/app-spec.js";

/** A local HTTP endpoint that keeps every JSON body posted to it. */
async function receiver(): Promise<{ url: string; bodies: Record<string, unknown>[]; server: Server }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let data = "";
    req.on("data", (d) => (data += d));
    req.on("end", () => {
      bodies.push(JSON.parse(data) as Record<string, unknown>);
      res.writeHead(202).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hook`, bodies, server };
}

async function until(condition: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end && !condition();) await new Promise((r) => setTimeout(r, 100));
}

const FAST = { LOCKSTEP_API_HEALTH_INTERVAL_MS: "300", LOCKSTEP_API_HEALTH_PROBE_TIMEOUT_MS: "3000" };

test("an unresponsive node raises one alert, destroys nothing, and is resolved when it recovers", async (t) => {
  const hook = await receiver();
  t.teardown(() => hook.server.close());
  const cluster = await startCluster(
    t,
    ["pve1"],
    { ...FAST, LOCKSTEP_API_ALERT_CHANNEL: "webhook", LOCKSTEP_API_ALERT_WEBHOOK_URL: hook.url },
    { LOCKSTEP_AGENT_PROBE_TIMEOUT_MS: "1500" },
  );
  t.teardown(() => cluster.stop());
  const created = (await (
    await post(
      cluster.api,
      "/v1/containers",
      { node: "pve1", spec: { hostname: "web-1", source: { template: TEMPLATE } } },
      "alert-ct",
    )
  ).json()) as { operation_id: string; vmid: number };
  await waitForOperation(cluster.api, created.operation_id);
  // A loaded test machine can make a probe miss its deadline before any fault: start from a healthy node.
  await until(() => hook.bodies.length === 0 || hook.bodies.at(-1)!.event === "resolve");
  hook.bodies.length = 0;
  const root = cluster.agents.get("pve1")!.root;
  writeFaults(root, [{ command: "list", action: "hang-before-lock" }]);
  await until(() => hook.bodies.length > 0);
  await new Promise((r) => setTimeout(r, 2000));
  t.deepEqual(
    hook.bodies.map((b) => [b.event, b.dedup_key]),
    [["trigger", "lockstep/pve1/hypervisor-unresponsive"]],
  );
  writeFaults(root, []);
  await until(() => hook.bodies.length > 1);
  t.deepEqual(
    hook.bodies.map((b) => b.event),
    ["trigger", "resolve"],
  );
  t.is(startedCalls(root, "destroy").length, 0);
  const record = (await (await cluster.api.fetch(`/v1/containers`)).json()) as { containers: { status: string }[] };
  t.is(record.containers[0]?.status, "running");
});

test("PagerDuty receives an Events v2 trigger with a dedup key, and the routing key stays out of the logs", async (t) => {
  const pagerduty = await receiver();
  t.teardown(() => pagerduty.server.close());
  const cluster = await startCluster(t, ["pve1"], {
    ...FAST,
    LOCKSTEP_API_ALERT_CHANNEL: "pagerduty",
    LOCKSTEP_API_PAGERDUTY_ROUTING_KEY: "R0UT1NGKEYSECRET",
    LOCKSTEP_API_PAGERDUTY_URL: pagerduty.url,
    LOCKSTEP_API_UNREACHABLE_ALERT_MS: "0",
  });
  t.teardown(() => cluster.stop());
  await cluster.agents.get("pve1")!.stop();
  await until(() => pagerduty.bodies.length > 0);
  const event = pagerduty.bodies[0]!;
  t.like(event, {
    routing_key: "R0UT1NGKEYSECRET",
    event_action: "trigger",
    dedup_key: "lockstep/pve1/agent-unreachable",
  });
  t.like(event.payload, { source: "pve1", severity: "critical", component: "lockstep" });
  t.notRegex(cluster.api.logs(), /R0UT1NGKEYSECRET/);
});
