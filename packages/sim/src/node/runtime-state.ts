import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { withPrivateLock } from "../locking/flock.js";
import { replaceFile } from "./replace-file.js";
import { runtimePath, type SimLayout } from "./sim-layout.js";

/** What is not in the config: whether the CT runs, and what its systemd has loaded and started. */
export interface RuntimeState {
  running: boolean;
  startedAt: number;
  /** Unit files systemd read at boot or at the last daemon-reload. */
  loaded: string[];
  active: string[];
}

const STOPPED: RuntimeState = { running: false, startedAt: 0, loaded: [], active: [] };

export function readRuntime(layout: SimLayout, vmid: number): RuntimeState {
  const file = runtimePath(layout, vmid);
  return existsSync(file)
    ? { ...STOPPED, ...(JSON.parse(readFileSync(file, "utf8")) as Partial<RuntimeState>) }
    : { ...STOPPED };
}

/** Read-modify-write of a CT's runtime state under the simulator's private lock. */
export function updateRuntime(layout: SimLayout, vmid: number, change: (state: RuntimeState) => void): RuntimeState {
  const file = runtimePath(layout, vmid);
  mkdirSync(path.dirname(file), { recursive: true });
  return withPrivateLock(`${file}.lock`, () => {
    const state = readRuntime(layout, vmid);
    change(state);
    replaceFile(file, JSON.stringify(state));
    return state;
  });
}

export function removeRuntime(layout: SimLayout, vmid: number): void {
  rmSync(runtimePath(layout, vmid), { force: true });
}
