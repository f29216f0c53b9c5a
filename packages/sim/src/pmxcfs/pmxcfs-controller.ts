import { mkdirSync } from "node:fs";
import path from "node:path";
import { acquireFlock } from "../locking/flock.js";
import { restoreFallback } from "./fallback-stash.js";
import { fuseMountAt } from "./mount-table.js";
import { sendControl } from "./pmxcfs-control.js";
import { startPmxcfsServer, stopPmxcfsServer } from "./pmxcfs-daemon.js";
import { PmxcfsError } from "./pmxcfs-error.js";
import { pmxcfsSettings, type PmxcfsSettings } from "./pmxcfs-settings.js";
import { clearPmxcfsState, readPmxcfsState, writePmxcfsState, type PmxcfsState } from "./pmxcfs-state.js";

/** What `lockstep-sim-pmxcfs` can do to a node's pmxcfs. */
export const PMXCFS_ACTIONS = ["mount", "unmount", "pause", "resume", "stop", "start", "no-quorum", "quorum"] as const;
export type PmxcfsAction = (typeof PMXCFS_ACTIONS)[number];

/**
 * Controls asked in this process, by node, take turns before the flock: its wait is synchronous
 * (as a pct's is), so a second control here would block the event loop the first one needs to
 * finish, and both would wait out the flock's 60 s (a test's hooks, a fault runner).
 */
const turns = new Map<string, Promise<string>>();

/**
 * Carries out `action` on the node named by `env` (LOCKSTEP_SIM_ROOT, _NODE, _CLUSTER) and
 * resolves once it is in force; returns a line saying what now holds. One control at a time
 * per node (a flock on the node's own disk, never on pmxcfs).
 */
export async function controlPmxcfs(action: PmxcfsAction, env: NodeJS.ProcessEnv): Promise<string> {
  const settings = pmxcfsSettings(env);
  const previous = turns.get(settings.controlLock) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(() => controlUnderLock(action, settings));
  turns.set(settings.controlLock, mine);
  try {
    return await mine;
  } finally {
    if (turns.get(settings.controlLock) === mine) turns.delete(settings.controlLock);
  }
}

async function controlUnderLock(action: PmxcfsAction, settings: PmxcfsSettings): Promise<string> {
  mkdirSync(path.dirname(settings.controlLock), { recursive: true });
  const lock = acquireFlock(settings.controlLock, 60, false);
  if (!lock)
    throw new PmxcfsError(
      "CONTROL_FAILED",
      `another pmxcfs control on ${settings.node} held ${settings.controlLock} for 60 s`,
    );
  try {
    return await ACTIONS[action](settings, readPmxcfsState(settings.root));
  } finally {
    lock.release();
  }
}

type Handler = (s: PmxcfsSettings, state: PmxcfsState | null) => Promise<string>;

const ACTIONS: Record<PmxcfsAction, Handler> = {
  // A fresh mount is quorate; `start` brings back what the node had (a node without quorum
  // stays without it when pmxcfs restarts).
  mount: (s, state) => serve(s, state, true),
  start: (s, state) => serve(s, state, state?.quorate ?? true),
  stop: async (s, state) => {
    await stopPmxcfsServer(s, state?.pid ?? null);
    writePmxcfsState(s.root, { state: "stopped", quorate: state?.quorate ?? true, pid: null });
    return `pmxcfs on ${s.node}: stopped (${s.mountpoint} is an empty directory)`;
  },
  unmount: async (s, state) => {
    await stopPmxcfsServer(s, state?.pid ?? null);
    restoreFallback(s);
    clearPmxcfsState(s.root);
    return `pmxcfs on ${s.node}: unmounted (${s.mountpoint} is a plain directory again)`;
  },
  pause: (s, state) => command(s, state, "pause", "paused (every call on the mount blocks)"),
  resume: (s, state) => command(s, state, "resume", "resumed"),
  "no-quorum": (s, state) => setQuorum(s, state, false),
  quorum: (s, state) => setQuorum(s, state, true),
};

async function serve(s: PmxcfsSettings, state: PmxcfsState | null, quorate: boolean): Promise<string> {
  if (state?.state === "mounted" && (await running(s)))
    return `pmxcfs on ${s.node}: already mounted at ${s.mountpoint}`;
  await stopPmxcfsServer(s, state?.pid ?? null); // a server that died leaves a dead mount behind
  const pid = await startPmxcfsServer(s, quorate);
  writePmxcfsState(s.root, { state: "mounted", quorate, pid });
  return `pmxcfs on ${s.node}: mounted at ${s.mountpoint} (${quorate ? "quorate" : "no quorum"})`;
}

async function setQuorum(s: PmxcfsSettings, state: PmxcfsState | null, quorate: boolean): Promise<string> {
  if (state?.state === "mounted") await command(s, state, quorate ? "quorum" : "no-quorum", "");
  writePmxcfsState(s.root, { state: state?.state ?? "stopped", quorate, pid: state?.pid ?? null });
  return `pmxcfs on ${s.node}: ${quorate ? "quorate" : "no quorum (read-only)"}`;
}

async function command(
  s: PmxcfsSettings,
  state: PmxcfsState | null,
  what: "pause" | "resume" | "quorum" | "no-quorum",
  said: string,
): Promise<string> {
  if (state?.state !== "mounted" || !fuseMountAt(s.mountpoint))
    throw new PmxcfsError("NOT_RUNNING", `pmxcfs is not mounted on ${s.node} (${s.mountpoint})`);
  await sendControl(s.controlSocket, what);
  return `pmxcfs on ${s.node}: ${said}`;
}

async function running(s: PmxcfsSettings): Promise<boolean> {
  return (
    Boolean(fuseMountAt(s.mountpoint)) && (await sendControl(s.controlSocket, "ping", 1000).catch(() => "")) === "ready"
  );
}
