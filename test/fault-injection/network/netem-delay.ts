import type { CommandRunner } from "./command-runner.js";
import { NetworkError } from "./network-error.js";

/** Whether the kernel has sch_netem, tried on a namespace's loopback (a module loads on demand). */
export async function netemAvailable(commands: CommandRunner, namespace: string): Promise<boolean> {
  try {
    await commands.run([
      "ip",
      "netns",
      "exec",
      namespace,
      "tc",
      "qdisc",
      "add",
      "dev",
      "lo",
      "root",
      "netem",
      "delay",
      "1ms",
    ]);
  } catch (err) {
    if (err instanceof NetworkError && /qdisc kind is unknown/i.test(err.command?.stderr ?? "")) return false;
    throw err;
  }
  await commands.run(["ip", "netns", "exec", namespace, "tc", "qdisc", "del", "dev", "lo", "root"]);
  return true;
}

/**
 * Delays what a namespace sends out of `device` by `ms` +/- `jitterMs` (uniform) with a netem
 * qdisc; answers its undo.
 */
export async function netemDelay(
  commands: CommandRunner,
  namespace: string,
  device: string,
  ms: number,
  jitterMs: number,
): Promise<() => Promise<void>> {
  const tc = ["ip", "netns", "exec", namespace, "tc", "qdisc"];
  await commands.run([...tc, "replace", "dev", device, "root", "netem", "delay", `${ms}ms`, `${jitterMs}ms`]);
  return async () => void (await commands.run([...tc, "del", "dev", device, "root"]));
}
