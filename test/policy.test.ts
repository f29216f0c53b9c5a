// A policy for what a caller may ask of a hypervisor, enforced twice: by the API before it
// writes anything, and by the agent from its own configuration. The default policies draw
// Proxmox's line between root@pam and everyone else (pve-container src/PVE/API2/LXC.pm
// create_vm, src/PVE/LXC.pm check_ct_modify_config_perm).
import { writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import type { RowDataPacket } from "mysql2/promise";
import { readCalls } from "@lockstep/sim";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { startCluster, tokenCommand, waitForOperation, type ApiUnderTest } from "./support/cluster.js";
import { TEMPLATE } from "./support/app-spec.js";

const spec = (extra: Record<string, unknown> = {}) => ({ hostname: "web-1", source: { template: TEMPLATE }, ...extra });

/** A token made with `lockstep-api token create --policy`, and a sender of its requests. */
async function tokenWithPolicy(t: TestScope, api: ApiUnderTest, dbUrl: string, policy: Record<string, unknown>) {
  const file = path.join(scratchDir(t, "token-policy"), "policy.json");
  writeFileSync(file, JSON.stringify(policy));
  const token = await tokenCommand(dbUrl, ["create", "--name", "panel", "--scope", "operator", "--policy", file]);
  return (method: string, route: string, body: unknown, key: string) =>
    fetch(`${api.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify(body),
    });
}

/** The `pct` commands that changed the node, as the simulator logged them. */
function mutations(root: string): string[] {
  return readCalls(root)
    .filter((c) => c.event === "start" && c.argv[0] !== "list" && c.argv[0] !== "config" && c.argv[0] !== "status")
    .map((c) => (c.event === "start" ? c.argv.slice(0, 2).join(" ") : ""));
}

test("hostile requests through the running API are refused with their rule named, and nothing is written or run", async (t) => {
  t.timeout(5 * 60_000);
  const cluster = await startCluster(t, ["pve1"]);
  const send = await tokenWithPolicy(t, cluster.api, cluster.db.url, {
    max: { cores: 2 },
    templates: ["local:vztmpl/debian-*"],
    max_containers: 1,
  });
  const hostile: [string, Record<string, unknown>][] = [
    ["privileged", spec({ security: { unprivileged: false } })],
    ["apparmor_profile", spec({ security: { apparmor_profile: "unconfined" } })],
    ["feature_flag", spec({ security: { nesting: true, keyctl: true } })],
    ["max_cores", spec({ resources: { cores: 4 } })],
    ["template", spec({ source: { template: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz" } })],
    ["clone_source", spec({ source: { clone: { vmid: 9000 } } })],
  ];
  for (const [rule, body] of hostile) {
    const res = await send("POST", "/v1/containers", { node: "pve1", spec: body }, `hostile-${rule}`);
    const problem = (await res.json()) as { rule: string; type: string };
    t.is(res.status, 403, rule);
    t.is(problem.rule, rule);
    t.is(problem.type, "urn:lockstep:problem:policy-violation");
  }
  const [rows] = await cluster.db.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM containers");
  t.is(Number(rows[0]!.n), 0, "nothing written");
  t.deepEqual(mutations(cluster.agents.get("pve1")!.root), [], "nothing run on the node");

  const allowed = await send("POST", "/v1/containers", { node: "pve1", spec: spec() }, "allowed");
  t.is(allowed.status, 202);
  const created = (await allowed.json()) as { id: string; operation: { id: string } };
  t.is((await waitForOperation(cluster.api, created.operation.id)).status, "succeeded");
  const over = await send("POST", "/v1/containers", { node: "pve1", spec: spec({ hostname: "web-2" }) }, "quota");
  t.is(((await over.json()) as { rule: string }).rule, "max_containers");
  const widen = await send(
    "POST",
    `/v1/containers/${created.id}/apply`,
    { spec: spec({ resources: { cores: 8 } }) },
    "widen",
  );
  t.is(((await widen.json()) as { rule: string }).rule, "max_cores");
  const incidents = (await (await cluster.api.fetch("/v1/incidents?kind=policy-refused")).json()) as {
    incidents: { detail: string }[];
  };
  t.is(incidents.incidents.length, hostile.length + 2, "one incident per refusal");
});

test("a create the token's policy allows and the node's policy refuses fails with PERMISSION_DENIED naming the rule, and no pct create runs", async (t) => {
  t.timeout(5 * 60_000);
  // The agent keeps its default policy: privileged containers are root@pam's alone.
  const cluster = await startCluster(t, ["pve1"], {}, { LOCKSTEP_AGENT_POLICY_FILE: "" });
  const send = await tokenWithPolicy(t, cluster.api, cluster.db.url, { privileged: true });
  const res = await send(
    "POST",
    "/v1/containers",
    { node: "pve1", spec: spec({ security: { unprivileged: false } }) },
    "k",
  );
  t.is(res.status, 202);
  const { operation } = (await res.json()) as { operation: { id: string } };
  const op = (await waitForOperation(cluster.api, operation.id)) as {
    status: string;
    attempts: number;
    error: { code: string; message: string };
  };
  t.is(op.status, "failed");
  t.is(op.attempts, 1, "a refusal is not retried");
  t.is(op.error.code, "PERMISSION_DENIED");
  t.regex(op.error.message, /rule privileged/);
  t.false(
    mutations(cluster.agents.get("pve1")!.root).some((m) => m.startsWith("create")),
    "no pct create ran",
  );
  const incidents = (await (await cluster.api.fetch("/v1/incidents?kind=policy-refused")).json()) as {
    incidents: { detail: string }[];
  };
  t.true(
    incidents.incidents.some((i) =>
      /^token [0-9a-f]{12}: the agent on pve1 refused this create by its node policy \(rule privileged\)/.test(
        i.detail,
      ),
    ),
    JSON.stringify(incidents.incidents),
  );
});
