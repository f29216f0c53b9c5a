import { readFileSync } from "node:fs";
import type { CommandRunner } from "./command-runner.js";
import { NetworkError } from "./network-error.js";

const GONE_WITHIN_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILLs every process left in a namespace and waits until none lives: a namespace's name
 * can be removed while processes hold it, and they would live on, unreachable, in a network
 * that no one can name any more.
 */
export async function killNamespaceProcesses(commands: CommandRunner, namespace: string): Promise<number[]> {
  const pids = (await commands.run(["ip", "netns", "pids", namespace])).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  for (const end = Date.now() + GONE_WITHIN_MS; pids.some(living); await sleep(20)) {
    if (Date.now() > end)
      throw new NetworkError(
        "COMMAND_TIMEOUT",
        `processes ${pids.filter(living).join(", ")} of namespace ${namespace} still live ${GONE_WITHIN_MS} ms after SIGKILL`,
      );
  }
  return pids;
}

/** A process that exists and is not a zombie (a zombie has let go of its namespace). */
function living(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
