import { agentV1, type AgentClient } from "@lockstep/shared";
import type { Output } from "./commands.js";
import { UsageError } from "./commands.js";
import { formatTable } from "./format-table.js";

interface Comparison {
  record: { id: string; status: string; observed_state: string | null; hostname: string } | null;
  on_node: { status: string; lock: string; marked_record: string | null; lock_verdict: string } | null;
  verdict: { in_sync: boolean; findings: { kind: string; detail: string }[] };
}

/**
 * `ct compare <vmid> --api URL --node NAME`: the API's record beside what this agent reports
 * now, and the API's verdict, so an operator at the node sees both truths at once.
 */
export async function compareContainer(
  client: AgentClient,
  vmidText: string | undefined,
  api: string | undefined,
  node: string | undefined,
  token: string | undefined,
): Promise<Output> {
  if (!vmidText || !/^\d+$/.test(vmidText))
    throw new UsageError(`expected a VMID, got ${JSON.stringify(vmidText ?? "")}`);
  if (!api || !node)
    throw new UsageError("ct compare needs --api <url of lockstep-api> and --node <this node's registered name>");
  if (!token) throw new UsageError("ct compare needs an API token with scope read in LOCKSTEP_API_TOKEN");
  const res = await fetch(new URL(`/v1/nodes/${encodeURIComponent(node)}/containers/${vmidText}`, api), {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new UsageError(`the API answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const view = (await res.json()) as Comparison;
  const here = await client.getContainer({ vmid: Number(vmidText) }).then(
    (r) => r.container ?? null,
    () => null,
  );
  const rows = [
    ["record", view.record ? `${view.record.id} (${view.record.hostname})` : "-", "-"],
    [
      "status",
      view.record ? `${view.record.status}, observed ${view.record.observed_state ?? "-"}` : "-",
      here ? (here.status === agentV1.ContainerStatus.RUNNING ? "running" : "stopped") : "absent",
    ],
    ["lock", "-", here ? `${here.lock || "-"} (${view.on_node?.lock_verdict ?? "FREE"})` : "-"],
    ["marker", "-", view.on_node?.marked_record ?? "-"],
  ];
  const verdict = view.verdict.in_sync
    ? "in sync"
    : view.verdict.findings.map((f) => `${f.kind}: ${f.detail}`).join("\n");
  return {
    json: { ...view, agent_now: here && agentV1.Container.toJSON(here) },
    text: `${formatTable(["", "DATABASE", "NODE"], rows)}\nverdict: ${verdict}`,
    exitCode: view.verdict.in_sync ? 0 : 1,
  };
}
