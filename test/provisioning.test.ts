import test from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { post, startCluster, waitForOperation } from "./support/cluster.js";
import { TEMPLATE } from "./support/app-spec.js";

test("a create request becomes one running container on its node, carrying its record's ID", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const res = await post(
    cluster.api,
    "/v1/containers",
    { node: "pve1", spec: { hostname: "web-1", source: { template: TEMPLATE } } },
    "create-web-1",
  );
  t.is(res.status, 202);
  const created = (await res.json()) as { id: string; vmid: number; operation_id: string };
  const op = await waitForOperation(cluster.api, created.operation_id);
  t.is(op.status, "succeeded", JSON.stringify(op.error));
  const record = (await (await cluster.api.fetch(`/v1/containers/${created.id}`)).json()) as { status: string };
  t.is(record.status, "running");
  const onNode = await cluster.agents.get("pve1")!.client.getContainer({ vmid: created.vmid });
  t.true(onNode.container!.tags.includes(`lockstep-${created.id}`));
});

async function createAndWait(
  cluster: Awaited<ReturnType<typeof startCluster>>,
  key: string,
): Promise<{ id: string; vmid: number }> {
  const res = await post(
    cluster.api,
    "/v1/containers",
    { node: "pve1", ports: ["http"], spec: { hostname: "web-1", source: { template: TEMPLATE } } },
    key,
  );
  const created = (await res.json()) as { id: string; vmid: number; operation_id: string };
  await waitForOperation(cluster.api, created.operation_id);
  return created;
}

function del(cluster: Awaited<ReturnType<typeof startCluster>>, id: string, key: string): Promise<Response> {
  return cluster.api.fetch(`/v1/containers/${id}`, { method: "DELETE", headers: { "idempotency-key": key } });
}

test("deleting a container destroys it on the node and frees its VMID and ports; deleting again succeeds", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const created = await createAndWait(cluster, "create-del-1");
  const first = (await (await del(cluster, created.id, "delete-1")).json()) as { operation: { id: string } };
  t.is((await waitForOperation(cluster.api, first.operation.id)).status, "succeeded");
  const { containers } = await cluster.agents.get("pve1")!.client.listContainers({});
  t.deepEqual(containers, []);
  const [allocations] = await cluster.db.pool.query(
    "SELECT (SELECT COUNT(*) FROM vmid_allocations) + (SELECT COUNT(*) FROM port_allocations) AS n",
  );
  t.is((allocations as { n: number }[])[0]!.n, 0);
  const again = await del(cluster, created.id, "delete-2");
  t.is(again.status, 202);
  t.is(((await again.json()) as { status: string }).status, "deleted");
});

test("deleting a container already gone from its node succeeds", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const created = await createAndWait(cluster, "create-del-2");
  await cluster.agents.get("pve1")!.pct(["destroy", String(created.vmid), "--force"]);
  const res = (await (await del(cluster, created.id, "delete-3")).json()) as { operation: { id: string } };
  t.is((await waitForOperation(cluster.api, res.operation.id)).status, "succeeded");
  const record = (await (await cluster.api.fetch(`/v1/containers/${created.id}`)).json()) as { status: string };
  t.is(record.status, "deleted");
});

test("a VMID held by someone else's container is never adopted: the record moves to a free one", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const agent = cluster.agents.get("pve1")!;
  await agent.pct(["create", "10000", TEMPLATE, "--storage", "local-lvm", "--hostname", "not-ours", "--start", "1"]);
  const created = (await (
    await post(
      cluster.api,
      "/v1/containers",
      { node: "pve1", spec: { hostname: "web-1", source: { template: TEMPLATE } } },
      "foreign-1",
    )
  ).json()) as { id: string; vmid: number; operation_id: string };
  t.is(created.vmid, 10000);
  t.is((await waitForOperation(cluster.api, created.operation_id)).status, "succeeded");
  const record = (await (await cluster.api.fetch(`/v1/containers/${created.id}`)).json()) as {
    vmid: number;
    status: string;
  };
  t.deepEqual([record.vmid, record.status], [10001, "running"]);
  const foreign = await agent.client.getContainer({ vmid: 10000 });
  t.is(foreign.container!.name, "not-ours");
  const [rows] = await cluster.db.pool.query("SELECT vmid, owner FROM vmid_allocations ORDER BY vmid");
  t.deepEqual(rows, [
    { vmid: 10000, owner: "foreign" },
    { vmid: 10001, owner: "lockstep" },
  ]);
});

test("a create moved off a foreign VMID keeps the spec it was asked with: an apply meanwhile never changes what its retries send", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  await cluster.agents
    .get("pve1")!
    .pct(["create", "10000", TEMPLATE, "--storage", "local-lvm", "--hostname", "not-ours"]);
  const created = (await (
    await post(
      cluster.api,
      "/v1/containers",
      { node: "pve1", spec: { hostname: "web-1", source: { template: TEMPLATE } } },
      "foreign-2",
    )
  ).json()) as { id: string; operation_id: string };
  t.is((await waitForOperation(cluster.api, created.operation_id)).status, "succeeded");
  const [rows] = await cluster.db.pool.query<RowDataPacket[]>(
    "SELECT o.input, c.vmid FROM operations o JOIN containers c ON c.id = o.container_id WHERE o.id = ?",
    [created.operation_id],
  );
  const input = (typeof rows[0]!.input === "string" ? JSON.parse(rows[0]!.input) : rows[0]!.input) as {
    vmid?: number;
    spec?: { hostname: string };
  };
  t.is(rows[0]!.vmid, 10001, "the record holds the VMID it moved to");
  t.is(input.vmid, undefined, "the job keeps no copy of it");
  t.is(input.spec?.hostname, "web-1");
});

test("a delete sent while the create is running waits for it and leaves no orphan", async (t) => {
  const cluster = await startCluster(t, ["pve1"]);
  const { writeFaults } = await import("@lockstep/sim");
  writeFaults(cluster.agents.get("pve1")!.root, [{ command: "create", action: "slow", ms: 2000 }]);
  const created = (await (
    await post(
      cluster.api,
      "/v1/containers",
      { node: "pve1", spec: { hostname: "web-1", source: { template: TEMPLATE } } },
      "create-then-delete",
    )
  ).json()) as { id: string; operation_id: string };
  await new Promise((r) => setTimeout(r, 700));
  const deleting = (await (await del(cluster, created.id, "delete-while-creating")).json()) as {
    operation: { id: string };
  };
  t.is((await waitForOperation(cluster.api, deleting.operation.id)).status, "succeeded");
  t.is((await waitForOperation(cluster.api, created.operation_id)).status, "succeeded");
  t.deepEqual((await cluster.agents.get("pve1")!.client.listContainers({})).containers, []);
  const record = (await (await cluster.api.fetch(`/v1/containers/${created.id}`)).json()) as { status: string };
  t.is(record.status, "deleted");
});
