import test from "ava";
import { startedCalls, writeFaults } from "@lockstep/sim";
import { post, startApi, startCluster, waitForOperation } from "./support/cluster.js";
import { TEMPLATE } from "./support/app-spec.js";

test("an API killed during dispatch is replaced and every job finishes exactly once", async (t) => {
  // A short lease, so that the replacement takes over the dead process's jobs quickly.
  const cluster = await startCluster(t, ["pve1"], { LOCKSTEP_API_JOB_LEASE_MS: "2000" });
  const root = cluster.agents.get("pve1")!.root;
  writeFaults(root, [{ command: "create", action: "slow", ms: 1500 }]);
  const ops: string[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await post(
      cluster.api,
      "/v1/containers",
      { node: "pve1", spec: { hostname: `crash-${i}`, source: { template: TEMPLATE } } },
      `crash-${i}`,
    );
    ops.push(((await res.json()) as { operation_id: string }).operation_id);
  }
  await new Promise((r) => setTimeout(r, 800));
  await cluster.api.stop("SIGKILL");
  const replacement = await startApi(cluster.db.url, { LOCKSTEP_API_JOB_LEASE_MS: "2000" });
  t.teardown(() => replacement.stop());
  for (const id of ops) t.is((await waitForOperation(replacement, id)).status, "succeeded", replacement.logs());
  t.is(startedCalls(root, "create").length, 4);
});

test("two API processes on one database never run one job twice", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const second = await startApi(cluster.db.url);
  t.teardown(() => second.stop());
  const ops = await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const api = i % 2 === 0 ? cluster.api : second;
      const res = await post(
        api,
        "/v1/containers",
        { node: "pve1", spec: { hostname: `twin-${i}`, source: { template: TEMPLATE } } },
        `twin-${i}`,
      );
      return ((await res.json()) as { operation_id: string }).operation_id;
    }),
  );
  for (const id of ops) t.is((await waitForOperation(cluster.api, id)).status, "succeeded");
  t.is(startedCalls(cluster.agents.get("pve1")!.root, "create").length, 16);
});
