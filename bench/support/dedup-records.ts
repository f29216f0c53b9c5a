import path from "node:path";
import type { AgentClient } from "@lockstep/shared";
import { inParallel } from "./parallel.js";

/** The agent's request log on a simulated node (its `stateDir` is under the node's root). */
export function requestLogPath(root: string): string {
  return path.join(root, "var/lib/lockstep-agent/requests/requests.log");
}

/** The ownership tag every request acts for (a destroy names the record it is for). */
const BENCH_OWNER = "lockstep-bench";

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
): Promise<{ requestId: string; vmid: number; ownershipTag: string }[]> {
  const requests = Array.from({ length: n }, (_, i) => ({
    requestId: `${prefix}-${String(i).padStart(8, "0")}`,
    vmid: 100_000 + i,
    ownershipTag: BENCH_OWNER,
  }));
  await inParallel(requests, concurrency, async (request) => {
    const res = await client.destroyContainer({ ...request, force: false, purge: false });
    if (res.replayed !== replayed || !res.alreadyGone)
      throw new Error(`DestroyContainer ${request.requestId}: ${JSON.stringify(res)}`);
  });
  return requests;
}
