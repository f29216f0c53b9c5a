import path from "node:path";
import type { AgentClient } from "@lockstep/shared";
import { inParallel } from "./parallel.js";

/** The agent's request log on a simulated node (its `stateDir` is under the node's root). */
export function requestLogPath(root: string): string {
  return path.join(root, "var/lib/lockstep-agent/requests/requests.log");
}

/**
 * `n` DestroyContainer RPCs with request IDs `<prefix>-<i>`, `concurrency` at a time, each for
 * its own VMID that does not exist on the node: the agent records each ID durably (`running`,
 * then the outcome `already_gone`) without running `pct`. Sent again with `replayed`, the same
 * IDs and parameters are answered from the records. Throws on any other answer.
 */
export async function fillDedupRecords(
  client: AgentClient,
  n: number,
  concurrency: number,
  prefix: string,
  replayed = false,
): Promise<{ requestId: string; vmid: number }[]> {
  const requests = Array.from({ length: n }, (_, i) => ({
    requestId: `${prefix}-${String(i).padStart(8, "0")}`,
    vmid: 100_000 + i,
  }));
  await inParallel(requests, concurrency, async ({ requestId, vmid }) => {
    const res = await client.destroyContainer({ requestId, vmid, force: false, purge: false });
    if (res.replayed !== replayed || !res.alreadyGone)
      throw new Error(`DestroyContainer ${requestId}: ${JSON.stringify(res)}`);
  });
  return requests;
}
