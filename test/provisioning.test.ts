import test from "ava";
import { startedCalls } from "@lockstep/sim";
import { post, startCluster, waitForOperation } from "./support/cluster.js";

const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

test("a create request becomes one running container on its node, carrying its record's ID", async (t) => {
  const cluster = await startCluster(["pve1"]);
  t.teardown(() => cluster.stop());
  const res = await post(cluster.api, "/v1/containers", { node: "pve1", hostname: "web-1", template: TEMPLATE }, "create-web-1");
  t.is(res.status, 202);
  const created = (await res.json()) as { id: string; vmid: number; operation_id: string };
  const op = await waitForOperation(cluster.api, created.operation_id);
  t.is(op.status, "succeeded", JSON.stringify(op.error));
  const record = (await (await fetch(`${cluster.api.url}/v1/containers/${created.id}`)).json()) as { status: string };
  t.is(record.status, "running");
  const onNode = await cluster.agents.get("pve1")!.client.getContainer({ vmid: created.vmid });
  t.true(onNode.container!.tags.includes(`lockstep-${created.id}`));
});

test("duplicated create requests make exactly one pct create per key", async (t) => {
  const cluster = await startCluster(["pve1"]);
  t.teardown(() => cluster.stop());
  const keys = Array.from({ length: 8 }, (_, i) => `dup-${i}`);
  const answers = await Promise.all(
    keys.flatMap((key, i) =>
      Array.from({ length: 3 }, async () => {
        for (;;) {
          const res = await post(cluster.api, "/v1/containers", { node: "pve1", hostname: `ct-${i}`, template: TEMPLATE }, key);
          if (res.status !== 409) return (await res.json()) as { operation_id: string };
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    ),
  );
  const operations = [...new Set(answers.map((a) => a.operation_id))];
  t.is(operations.length, 8);
  for (const id of operations) t.is((await waitForOperation(cluster.api, id)).status, "succeeded");
  t.is(startedCalls(cluster.agents.get("pve1")!.root, "create").length, 8);
});
