import test from "ava";
import { LockstepError } from "@lockstep/shared";
import { agentOnSim, OWNED, OWNER, TEMPLATE } from "./agent-harness.js";

test("a node at its operation limit refuses a new operation at once, serves replays, and runs the refused ID later", async (t) => {
  const agent = await agentOnSim(t, { LOCKSTEP_AGENT_MAX_CONCURRENT_OPERATIONS: "1" });
  await agent.pct(["create", "150", TEMPLATE, ...OWNED, "--hostname", "busy", "--start", "1"]);
  await agent.client.exec({ requestId: "limit-done-0001", vmid: 150, ownershipTag: OWNER, argv: ["true"] });

  const slow = agent.client.exec({
    requestId: "limit-slow-0001",
    vmid: 150,
    ownershipTag: OWNER,
    argv: ["sleep", "2"],
  });
  await new Promise((r) => setTimeout(r, 500));
  const refused = await agent.client
    .exec({ requestId: "limit-next-0001", vmid: 150, ownershipTag: OWNER, argv: ["true"] })
    .then(
      () => null,
      (err: LockstepError) => err,
    );
  t.is(refused?.code, "RESOURCE_EXHAUSTED");
  t.is(
    refused?.message,
    "node pve1 is already running 1 operations (maxConcurrentOperations); retry later with the same request ID",
  );
  t.true(
    (await agent.client.exec({ requestId: "limit-done-0001", vmid: 150, ownershipTag: OWNER, argv: ["true"] }))
      .replayed,
    "a finished request is replayed at the limit",
  );

  await slow;
  const retried = await agent.client.exec({
    requestId: "limit-next-0001",
    vmid: 150,
    ownershipTag: OWNER,
    argv: ["true"],
  });
  t.false(retried.replayed, "the refused ID runs on its retry");
  t.is(retried.exitCode, 0);
});
