import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { CommandRunner } from "./command-runner.js";
import { NetworkError } from "./network-error.js";

const DELAYER = fileURLToPath(new URL("./queue-delayer.py", import.meta.url));
const READY_MS = 10_000;
const STOP_MS = 5000;
// One delay per host at a time, and queues are per namespace: the number is always free.
const QUEUE = "0";
// Loopback stays out of the queue: a delay is of what the host sends to other hosts.
// --queue-bypass lets packets pass when no delayer holds the queue (before it binds, after it ends).
const RULE = ["OUTPUT", "!", "-o", "lo", "-j", "NFQUEUE", "--queue-num", QUEUE, "--queue-bypass"];

/**
 * Delays what a namespace sends to other hosts by `ms` +/- `jitterMs` (uniform) on a kernel
 * without sch_netem: an iptables NFQUEUE rule hands each packet to queue-delayer.py, which
 * runs in the namespace and lets each go after its delay. Answers its undo. `onExit` hears of
 * a delayer that ended before its undo (the delay is gone then: the queue is bypassed).
 */
export async function queueDelay(
  commands: CommandRunner,
  namespace: string,
  ms: number,
  jitterMs: number,
  onExit: (why: string) => void,
): Promise<() => Promise<void>> {
  const delayer = spawn(
    "ip",
    ["netns", "exec", namespace, "/usr/bin/python3", DELAYER, QUEUE, String(ms), String(jitterMs)],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let stderr = "";
  delayer.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  let undone = false;
  delayer.once("exit", (code, signal) => {
    if (!undone) onExit(`the delayer of ${namespace} exited ${code ?? signal}: ${stderr.trim()}`);
  });
  try {
    await ready(delayer, () => stderr);
    await commands.run(["ip", "netns", "exec", namespace, "iptables-nft", "-A", ...RULE]);
  } catch (err) {
    undone = true;
    await stop(delayer);
    throw err;
  }
  return async () => {
    undone = true;
    await commands.run(["ip", "netns", "exec", namespace, "iptables-nft", "-D", ...RULE]);
    // Told to end, the delayer lets every packet it holds go first.
    await stop(delayer);
  };
}

function ready(delayer: ChildProcess, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new NetworkError(
            "DELAYER_FAILED",
            `the delayer did not hold its queue within ${READY_MS} ms: ${stderr().trim()}`,
          ),
        ),
      READY_MS,
    );
    delayer.stdout!.once("data", () => {
      clearTimeout(timer);
      resolve();
    });
    delayer.once("exit", (code) => {
      clearTimeout(timer);
      reject(
        new NetworkError("DELAYER_FAILED", `the delayer exited ${code} before it held its queue: ${stderr().trim()}`),
      );
    });
  });
}

async function stop(delayer: ChildProcess): Promise<void> {
  if (delayer.exitCode !== null || delayer.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => delayer.once("exit", () => resolve()));
  delayer.kill("SIGTERM");
  const timer = setTimeout(() => delayer.kill("SIGKILL"), STOP_MS);
  await exited;
  clearTimeout(timer);
}
