import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import type { SimLayout } from "../node/sim-layout.js";
import { readRuntime, updateRuntime } from "../node/runtime-state.js";
import type { ExecIo } from "./exec-io.js";

const UNIT_DIRS = ["/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"];
const WANTS = "/etc/systemd/system/multi-user.target.wants";

/** Unit files present on the container's disk now. */
function unitFilesOnDisk(rootfs: string): string[] {
  const units = new Set<string>();
  for (const dir of UNIT_DIRS) {
    const host = path.join(rootfs, dir);
    if (!existsSync(host)) continue;
    for (const name of readdirSync(host))
      if (/\.(service|socket|timer|target|path|mount)$/.test(name) && !lstatSync(path.join(host, name)).isDirectory())
        units.add(name);
  }
  return [...units].sort();
}

function isEnabled(rootfs: string, unit: string): boolean {
  return existsSync(path.join(rootfs, WANTS, unit)) || lstatExists(path.join(rootfs, WANTS, unit));
}

function lstatExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Boot: systemd reads every unit file and starts the enabled ones. */
export function bootSystemd(layout: SimLayout, vmid: number, rootfs: string): void {
  updateRuntime(layout, vmid, (s) => {
    s.loaded = unitFilesOnDisk(rootfs);
    s.active = s.loaded.filter((u) => isEnabled(rootfs, u));
  });
}

const unitName = (name: string): string => (/\.[a-z]+$/.test(name) ? name : `${name}.service`);

/**
 * `systemctl`, modelled on what matters for the push race: `enable` works from the files on
 * disk, but `start` needs the unit loaded, which only a boot or `daemon-reload` does.
 */
export function systemctl(layout: SimLayout, args: string[], io: ExecIo): number {
  const [verb, ...rest] = args.filter((a) => a !== "--quiet" && a !== "-q" && a !== "--no-pager");
  const now = rest.includes("--now");
  const units = rest.filter((a) => !a.startsWith("--")).map(unitName);
  const state = readRuntime(layout, io.vmid);
  const onDisk = (u: string): boolean => unitFilesOnDisk(io.rootfs).includes(u);
  switch (verb) {
    case "daemon-reload":
      updateRuntime(layout, io.vmid, (s) => void (s.loaded = unitFilesOnDisk(io.rootfs)));
      return 0;
    case "enable":
      for (const u of units) {
        if (!onDisk(u)) return (io.err(`Failed to enable unit: Unit file ${u} does not exist.\n`), 1);
        const link = path.join(io.rootfs, WANTS, u);
        if (!lstatExists(link)) {
          mkdirSync(path.dirname(link), { recursive: true });
          symlinkSync(`/etc/systemd/system/${u}`, link);
          io.err(`Created symlink ${WANTS}/${u} → /etc/systemd/system/${u}.\n`);
        }
      }
      return now ? start(layout, units, io) : 0;
    case "disable":
      for (const u of units) rmSync(path.join(io.rootfs, WANTS, u), { force: true });
      if (now) updateRuntime(layout, io.vmid, (s) => void (s.active = s.active.filter((a) => !units.includes(a))));
      return 0;
    case "start":
    case "restart":
      return start(layout, units, io);
    case "stop":
      updateRuntime(layout, io.vmid, (s) => void (s.active = s.active.filter((a) => !units.includes(a))));
      return 0;
    case "is-enabled":
      for (const u of units) {
        if (!onDisk(u)) return (io.err(`Failed to get unit file state for ${u}: No such file or directory\n`), 1);
        io.out(isEnabled(io.rootfs, u) ? "enabled\n" : "disabled\n");
      }
      return units.every((u) => isEnabled(io.rootfs, u)) ? 0 : 1;
    case "is-active":
      for (const u of units) io.out(state.active.includes(u) ? "active\n" : "inactive\n");
      return units.every((u) => state.active.includes(u)) ? 0 : 3;
    case "status": {
      const u = units[0] ?? "";
      if (!state.loaded.includes(u) && !onDisk(u)) return (io.err(`Unit ${u} could not be found.\n`), 4);
      io.out(
        `● ${u}\n     Loaded: loaded (/etc/systemd/system/${u}; ${isEnabled(io.rootfs, u) ? "enabled" : "disabled"})\n     Active: ${state.active.includes(u) ? "active (running)" : "inactive (dead)"}\n`,
      );
      return state.active.includes(u) ? 0 : 3;
    }
    default:
      io.err(`Unknown command verb ${verb ?? ""}.\n`);
      return 1;
  }
}

function start(layout: SimLayout, units: string[], io: ExecIo): number {
  const state = readRuntime(layout, io.vmid);
  for (const u of units) {
    if (!state.loaded.includes(u)) return (io.err(`Failed to start ${u}: Unit ${u} not found.\n`), 5);
  }
  updateRuntime(layout, io.vmid, (s) => void (s.active = [...new Set([...s.active, ...units])]));
  return 0;
}
