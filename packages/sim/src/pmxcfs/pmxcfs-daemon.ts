import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { stashFallback } from "./fallback-stash.js";
import { fuseSupport } from "./fuse-support.js";
import { fuseMountAt } from "./mount-table.js";
import { sendControl } from "./pmxcfs-control.js";
import { PmxcfsError } from "./pmxcfs-error.js";
import { DEBIAN_PYTHON, PMXCFS_SERVER, type PmxcfsSettings } from "./pmxcfs-settings.js";
import { unmountFuse } from "./unmount-fuse.js";

const START_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 5000;
const POLL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the node's pmxcfs server and returns its pid once the mount is listed in mountinfo and
 * the server says its filesystem is initialised (libfuse's init): from then on every call on
 * `<root>/etc/pve` is served by it.
 */
export async function startPmxcfsServer(settings: PmxcfsSettings, quorate: boolean): Promise<number> {
  if (!settings.cluster)
    throw new PmxcfsError(
      "NO_CLUSTER",
      "LOCKSTEP_SIM_CLUSTER is not set: pmxcfs serves a cluster directory, and this node has none",
    );
  const support = fuseSupport();
  if (!support.ok)
    throw new PmxcfsError("NO_FUSE", `${support.reason}: ${settings.mountpoint} stays on plain directories`);
  mkdirSync(settings.cluster, { recursive: true });
  stashFallback(settings);
  for (const dir of [path.dirname(settings.controlSocket), path.dirname(settings.serverLog)])
    mkdirSync(dir, { recursive: true });
  const log = openSync(settings.serverLog, "a");
  const args = [
    PMXCFS_SERVER,
    "--backing",
    settings.cluster,
    "--mountpoint",
    settings.mountpoint,
    "--node",
    settings.node,
    "--control",
    settings.controlSocket,
    "--quorate",
    quorate ? "1" : "0",
  ];
  // Its own session, as pmxcfs daemonizes (setsid): it outlives the control that started it.
  const child = spawn(DEBIAN_PYTHON, args, { detached: true, stdio: ["ignore", log, log] });
  closeSync(log);
  let exited = false;
  child.on("exit", () => (exited = true));
  child.unref();
  for (const end = Date.now() + START_TIMEOUT_MS; Date.now() < end && !exited; await sleep(POLL_MS)) {
    if (
      fuseMountAt(settings.mountpoint) &&
      (await sendControl(settings.controlSocket, "ping", 1000).catch(() => "")) === "ready"
    )
      return child.pid!;
  }
  await stopPmxcfsServer(settings, exited ? null : (child.pid ?? null)); // nothing half-mounted stays
  throw new PmxcfsError(
    "START_TIMEOUT",
    `pmxcfs did not come up at ${settings.mountpoint} within ${START_TIMEOUT_MS} ms: ${logTail(settings.serverLog)}`,
  );
}

/**
 * Stops the server: blocked and later calls are released (they fail with ENOTCONN, as on a
 * pmxcfs that died), the mount goes (unmountFuse: plain, then lazy), and the server process
 * ends (SIGKILL after 5 s). Leaves `<root>/etc/pve` an empty directory.
 */
export async function stopPmxcfsServer(settings: PmxcfsSettings, pid: number | null): Promise<void> {
  await sendControl(settings.controlSocket, "release", 2000).catch(() => undefined);
  await unmountFuse(settings.mountpoint);
  if (pid === null || !isServer(pid)) return;
  for (const end = Date.now() + EXIT_TIMEOUT_MS; Date.now() < end; await sleep(POLL_MS)) if (!isServer(pid)) return;
  process.kill(pid, "SIGKILL");
}

/** True while `pid` is a pmxcfs server (not a pid reused by something else). */
function isServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(PMXCFS_SERVER);
  } catch {
    return false;
  }
}

function logTail(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").slice(-5).join(" | ") : "(no server log)";
}
