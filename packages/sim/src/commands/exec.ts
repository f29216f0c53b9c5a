import { readFileSync } from "node:fs";
import { resolveInRoot } from "../container/chroot-path.js";
import type { ExecIo } from "../container/exec-io.js";
import { runInContainer } from "../container/run-command.js";
import { readConfig } from "../node/ct-config.js";
import { PctError } from "../node/pct-error.js";
import { readRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { parseVmid } from "./pct-args.js";
import type { SimContext } from "./sim-context.js";

/** `pct exec <vmid> [--] <command> [args]`: runs inside the container; exits with its status. */
export function exec(ctx: SimContext, args: string[]): { stdout: Buffer; exitCode: number } {
  const vmid = parseVmid(args[0] ?? "");
  let command = args.slice(1);
  // `--keep-env <0|1>` (pve-container src/PVE/CLI/pct.pm, exec); the simulated guest has no
  // environment of its own, so only the option's parsing is modelled here.
  if (command[0] === "--keep-env" && /^[01]$/.test(command[1] ?? "")) command = command.slice(2);
  if (command[0] === "--") command = command.slice(1);
  else {
    // Without `--`, pct parses the command's options as its own, and refuses them.
    const option = command.find((a) => a.startsWith("-"));
    if (option) throw new PctError(`Unknown option: ${option.replace(/^-+/, "")}\n400 unable to parse option`);
  }
  if (command.length === 0) throw new PctError("400 not enough arguments");
  ctx.fault.at("before-lock");
  const { layout, name } = ctx.node;
  readConfig(layout, name, vmid);
  if (!readRuntime(layout, vmid).running) throw new PctError(`container '${vmid}' not running!`);
  ctx.fault.at("midway");
  const rootfs = rootfsPath(layout, vmid);
  const chunks: Buffer[] = [];
  let stdin: Buffer | null = null;
  const io: ExecIo = {
    vmid,
    rootfs,
    stdin: () => (stdin ??= process.stdin.isTTY ? Buffer.alloc(0) : readFileSync(0)),
    out: (text) => chunks.push(Buffer.from(text)),
    err: (text) => process.stderr.write(text),
    resolve: (p, followLast) => resolveInRoot(rootfs, p, followLast),
  };
  const exitCode = runInContainer(layout, command, io);
  return { stdout: Buffer.concat(chunks), exitCode };
}
