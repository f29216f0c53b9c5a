import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parsePctArgs, parseVmid } from "../commands/pct-args.js";
import type { SimContext } from "../commands/sim-context.js";
import { removeLock, setLock } from "../config/guest-lock.js";
import { acquireFlock } from "../locking/flock.js";
import { PctError } from "../node/pct-error.js";
import { readRuntime } from "../node/runtime-state.js";
import { configPath } from "../node/sim-layout.js";
import { taskCommand, type TaskIo } from "../tasks/task-command.js";
import { guestOfVmid } from "../node/guest-of-vmid.js";

/** What the vzdump worker needs: the guests in order, the mode, the compressor's extension. */
interface VzdumpPlan {
  vmids: number[];
  mode: string;
  ext: string;
  cmdline: string;
}

const pad = (n: number): string => String(n).padStart(2, "0");
const stamp = (d: Date, sep: [string, string, string]): string =>
  `${d.getFullYear()}${sep[0]}${pad(d.getMonth() + 1)}${sep[0]}${pad(d.getDate())}${sep[1]}${pad(d.getHours())}${sep[2]}${pad(d.getMinutes())}${sep[2]}${pad(d.getSeconds())}`;
/** pve-manager PVE/VZDump.pm format_time. */
const formatTime = (s: number): string =>
  `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;

/**
 * `vzdump <vmid>... [--mode snapshot|suspend|stop] [--compress 0|zstd|gzip|lzo]`: pve-manager
 * PVE/API2/VZDump.pm vzdump forks one `vzdump` task whose id is the VMID only when exactly one
 * guest is local (`$taskid = $local_vmids->[0] if scalar(@{$local_vmids}) == 1`), else empty.
 */
export const vzdump = taskCommand<VzdumpPlan>({
  before(ctx, args) {
    const { positionals, options } = parseVzdumpArgs(args);
    const vmids = [...new Set(positionals.map((v) => parseVmid(v)))];
    const mode = options.mode ?? "snapshot";
    if (!["snapshot", "suspend", "stop"].includes(mode))
      throw new PctError(
        `400 Parameter verification failed.\nmode: value '${mode}' does not have a value in the enumeration 'snapshot, suspend, stop'`,
      );
    // VZDump.pm compressor_info: none (the default), lzo, gzip, zstd.
    const ext =
      { "0": ".tar", lzo: ".tar.lzo", gzip: ".tar.gz", "1": ".tar.lzo", zstd: ".tar.zst" }[options.compress ?? "0"] ??
      ".tar";
    return {
      type: "vzdump",
      id: vmids.length === 1 ? String(vmids[0]) : "",
      prepared: { vmids, mode, ext, cmdline: ["vzdump", ...args].join(" ") },
    };
  },
  body(ctx, plan, io) {
    // VZDump.pm getlock: one backup job per node, /var/run/vzdump.lock.
    const lockFile = path.join(ctx.node.layout.root, "run/vzdump.lock");
    mkdirSync(path.dirname(lockFile), { recursive: true });
    const global =
      acquireFlock(lockFile, 0.001, false) ??
      (io.print("INFO: trying to get global lock - waiting...\n"), acquireFlock(lockFile, 3 * 3600, false));
    if (!global) throw new PctError(`can't acquire lock '/var/run/vzdump.lock' - got timeout`);
    try {
      io.print(`INFO: starting new backup job: ${plan.cmdline}\n`);
      let errors = 0;
      // VZDump.pm exec_backup: guests in numeric order, one exec_backup_task each.
      for (const vmid of [...plan.vmids].sort((a, b) => a - b)) {
        io.checkpoint();
        if (!backupGuest(ctx, plan, vmid, io)) errors++;
      }
      io.print(`INFO: Backup job finished ${errors ? "with errors" : "successfully"}\n`);
      if (errors) throw new PctError("job errors");
    } finally {
      global.release();
    }
  },
});

function parseVzdumpArgs(args: string[]): { positionals: string[]; options: Record<string, string> } {
  const vmids = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1]!.startsWith("--")));
  const rest = args.filter((a) => !vmids.includes(a));
  if (vmids.length === 0) throw new PctError("400 not enough arguments");
  return { positionals: vmids, options: parsePctArgs(rest, [], { values: ["mode", "compress", "storage"] }).options };
}

/**
 * VZDump.pm exec_backup_task for one CT: pve-container src/PVE/VZDump/LXC.pm lock_vm is
 * `set_lock($vmid, 'backup')` (a brief flock), the archive is written under the property
 * alone, unlock_vm is `remove_lock($vmid, 'backup')`. A lock_vm failure fails the guest; an
 * unlock_vm failure is only warned (`eval { $plugin->unlock_vm($vmid) }; warn $@ if $@`).
 */
function backupGuest(ctx: SimContext, plan: VzdumpPlan, vmid: number, io: TaskIo): boolean {
  const started = Date.now();
  const { layout } = ctx.node;
  const dumpdir = path.join(layout.root, "var/lib/vz/dump");
  const basename = `vzdump-lxc-${vmid}-${stamp(new Date(started), ["_", "-", "_"])}`;
  const fail = (err: string): false => {
    io.print(`ERROR: Backup of VM ${vmid} failed - ${err}\nINFO: Failed at ${stamp(new Date(), ["-", " ", ":"])}\n`);
    return false;
  };
  const guest = guestOfVmid(layout, vmid);
  // With no guest, `$plugin` is undef: "unable to find VM '$vmid'". QEMU VMs are not simulated.
  if (guest === null) return fail(`unable to find VM '${vmid}'`);
  if (guest.type === "qemu") return fail("the simulator does not back up QEMU VMs");
  io.print(
    `INFO: Starting Backup of VM ${vmid} (lxc)\nINFO: Backup started at ${stamp(new Date(started), ["-", " ", ":"])}\n`,
  );
  io.print(`INFO: status = ${readRuntime(layout, vmid).running ? "running" : "stopped"}\n`);
  try {
    setLock(ctx, vmid, "backup");
  } catch (err) {
    return fail((err as Error).message);
  }
  let ok = true;
  try {
    io.print(
      `INFO: backup mode: ${plan.mode}\nINFO: creating vzdump archive '/var/lib/vz/dump/${basename}${plan.ext}'\n`,
    );
    mkdirSync(dumpdir, { recursive: true });
    const target = path.join(dumpdir, `${basename}${plan.ext}`);
    // VZDump.pm: written as `<basename>.dat` and renamed when complete.
    writeFileSync(path.join(dumpdir, `${basename}.dat`), "");
    io.sleep(Number(ctx.env.LOCKSTEP_SIM_VZDUMP_MS ?? 2000));
    if (!existsSync(configPath(layout, vmid)))
      throw new PctError(`Configuration file 'nodes/${ctx.node.name}/lxc/${vmid}.conf' does not exist`);
    renameSync(path.join(dumpdir, `${basename}.dat`), target);
  } catch (err) {
    ok = false;
    fail((err as Error).message);
  }
  try {
    removeLock(ctx, vmid, "backup");
  } catch (err) {
    io.print(`${(err as Error).message}\n`);
  }
  if (ok)
    io.print(
      `INFO: Finished Backup of VM ${vmid} (${formatTime(Math.round((Date.now() - started) / 1000))})\nINFO: Backup finished at ${stamp(new Date(), ["-", " ", ":"])}\n`,
    );
  return ok;
}
