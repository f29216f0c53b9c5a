import test from "ava";
import { startedCalls } from "@lockstep/sim";
import { post, startCluster, waitForOperation } from "./support/cluster.js";
import { TEMPLATE } from "./support/app-spec.js";

// Its own file: its 50 pipelines keep both CPUs busy for minutes, and the provisioning tests
// beside it in one file were starved past their operations' deadlines on a slow machine (CI).

/** A create's answer, or a problem's (which has neither field). */
interface Answer {
  readonly operation_id: string;
  readonly vmid: number;
}

test("200 concurrent creates with 50 keys make 50 records, 50 jobs and 50 pct creates with distinct VMIDs", async (t) => {
  // Minutes with no other test finishing, once it is the last one left: without its own timeout
  // AVA's two-minute inactivity timeout ends it, and every test file running beside it.
  t.timeout(20 * 60_000);
  const cluster = await startCluster(t, ["pve1"]);
  const keys = Array.from({ length: 50 }, (_, i) => `dup-${i}`);
  const answers = await Promise.all(
    keys.flatMap((key, i) =>
      Array.from({ length: 4 }, async () => {
        for (;;) {
          const res = await post(
            cluster.api,
            "/v1/containers",
            { node: "pve1", spec: { hostname: `ct-${i}`, source: { template: TEMPLATE } } },
            key,
          );
          // 409: the key's first request is still in flight; 503: the database asked for a retry
          // (Retry-After). Both say "send it again", and a client does.
          if (res.status !== 409 && res.status !== 503)
            return { ...((await res.json()) as Answer), httpStatus: res.status };
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    ),
  );
  t.deepEqual(
    answers.filter((a) => a.httpStatus !== 202 && a.httpStatus !== 200),
    [],
  );
  const operations = [...new Set(answers.map((a) => a.operation_id))];
  t.is(operations.length, 50);
  t.is(new Set(answers.map((a) => a.vmid)).size, 50);
  // 50 pipelines on one node run a few at a time: on a loaded machine the last one ends minutes
  // after the first. What this test is about is how many there are, not how fast they go.
  for (const id of operations) t.is((await waitForOperation(cluster.api, id, 600_000)).status, "succeeded");
  t.is(startedCalls(cluster.agents.get("pve1")!.root, "create").length, 50);
  const [counts] = await cluster.db.pool.query(
    "SELECT (SELECT COUNT(*) FROM containers) AS containers, (SELECT COUNT(*) FROM operations) AS operations",
  );
  t.deepEqual((counts as { containers: number; operations: number }[])[0], { containers: 50, operations: 50 });
});
