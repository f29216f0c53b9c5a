import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import test from "ava";
import { AgentClient, agentV1 } from "../../src/index.js";

const DOWN_MS = 10_000;

/** A NodeAgent server on `port` (0: any) that answers Health only. */
async function agentOn(port: number): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(agentV1.NodeAgentService, {
    getHealth: (
      _call: ServerUnaryCall<agentV1.GetHealthRequest, agentV1.GetHealthResponse>,
      done: sendUnaryData<agentV1.GetHealthResponse>,
    ) => done(null, agentV1.GetHealthResponse.fromPartial({ node: "pve1" })),
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, port: bound };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test("an agent back after a long absence is reached within the 2 s reconnect bound, not gRPC's growing backoff", async (t) => {
  const first = await agentOn(0);
  const client = new AgentClient(`127.0.0.1:${first.port}`, { defaultTimeoutMs: 1_000 });
  t.teardown(() => client.close());
  t.is((await client.getHealth({})).node, "pve1");
  first.server.forceShutdown();
  // Failed connects while it is away: with gRPC's default (1 s growing by 1.6 to 120 s) the
  // next try after 10 s away would come about 6 s after the agent's return.
  const awayUntil = Date.now() + DOWN_MS;
  while (Date.now() < awayUntil) {
    await t.throwsAsync(client.getHealth({}));
    await sleep(200);
  }
  const back = await agentOn(first.port);
  t.teardown(() => back.server.forceShutdown());
  const returned = Date.now();
  for (;;) {
    const answered = await client.getHealth({}).then(
      () => true,
      () => false,
    );
    if (answered) break;
    await sleep(50);
  }
  const waited = Date.now() - returned;
  t.log(`reached ${waited} ms after the agent came back`);
  t.true(waited <= 2_000 * 1.2 + 500, `reached only after ${waited} ms`);
});
