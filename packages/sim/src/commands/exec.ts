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

// LXC src/lxc/attach.c lxc_attach_set_environment with LXC_ATTACH_CLEAR_ENV: clearenv(), then
// a default PATH (when none is kept); `container=lxc` is set under either policy. Read from LXC's
// source as quoted in the audit; not re-checked here (LXC is not in /work/proxmox-src).
const LXC_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The guest command's environment. pve-container src/PVE/CLI/pct.pm exec: `--keep-env`
 * defaults to 1 on PVE 8 and 9 (the FIXME), so the guest gets pct's own environment, where
 * pve-common CLIHandler.pm run_cli_handler has set PATH=/sbin:/bin:/usr/sbin:/usr/bin and
 * clean_environment removed SSL_CERT_FILE and SSL_CERT_DIR; `--keep-env 0` is `--clear-env`.
 */
export function guestEnvironment(pctEnv: NodeJS.ProcessEnv, keepEnv: boolean): Record<string, string> {
  if (!keepEnv) return { PATH: LXC_DEFAULT_PATH, container: "lxc" };
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(pctEnv))
    if (value !== undefined && key !== "SSL_CERT_FILE" && key !== "SSL_CERT_DIR") env[key] = value;
  return { ...env, PATH: "/sbin:/bin:/usr/sbin:/usr/bin", container: "lxc" };
}

/** `pct exec <vmid> [--keep-env 0|1] [--] <command> [args]`: runs inside the container; exits with its status. */
export function exec(ctx: SimContext, args: string[]): { stdout: Buffer; exitCode: number } {
  const vmid = parseVmid(args[0] ?? "");
  let command = args.slice(1);
  let keepEnv = true;
  if (command[0] === "--keep-env") {
    const value = command[1] === "0" || command[1] === "1" ? command[1] : null;
    keepEnv = value !== "0";
    command = command.slice(value === null ? 1 : 2);
  }
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
    env: guestEnvironment(ctx.env, keepEnv),
    stdin: () => (stdin ??= process.stdin.isTTY ? Buffer.alloc(0) : readFileSync(0)),
    out: (text) => chunks.push(Buffer.from(text)),
    err: (text) => process.stderr.write(text),
    resolve: (p, followLast) => resolveInRoot(rootfs, p, followLast),
  };
  const exitCode = runInContainer(layout, command, io);
  return { stdout: Buffer.concat(chunks), exitCode };
}
