import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  statSync,
  writeFileSync,
  constants,
} from "node:fs";
import path from "node:path";
import { resolveInRoot } from "../container/chroot-path.js";
import { readConfig } from "../node/ct-config.js";
import { readRuntime } from "../node/runtime-state.js";
import { rootfsPath } from "../node/sim-layout.js";
import { PctError } from "../node/pct-error.js";
import { taskCommand } from "../tasks/task-command.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import { lockConfig, type SimContext } from "./sim-context.js";

interface PushPlan {
  readonly vmid: number;
  readonly source: string;
  readonly destination: string;
  readonly perms: string | undefined;
}

/**
 * `pct push <vmid> <file> <destination>`: pve-container src/PVE/CLI/pct.pm, push. `pct` takes
 * the config flock and checks the CT runs (a stopped CT fails here: exit 255, no task), then
 * forks a `push_file` worker that inherits the flock. pct.pm's cmddef for push has no
 * `$upid_exit`, so a failed copy still exits 0 with only stderr telling. A directory as
 * source leaves an empty file; an existing destination is truncated in place; no fsync.
 */
export const push = taskCommand<PushPlan>({
  exitOnTaskError: false,
  before(ctx, args) {
    const { positionals, options } = parsePctArgs(args, ["vmid", "file", "destination"], {
      values: ["perms", "user", "group"],
    });
    const vmid = parseVmid(positionals[0]!);
    const lock = lockConfig(ctx, vmid);
    try {
      if (!readRuntime(ctx.node.layout, vmid).running) throw new PctError("can only push files to a running CT");
      readConfig(ctx.node.layout, ctx.node.name, vmid);
    } catch (err) {
      lock.release();
      throw err;
    }
    return {
      type: "push_file",
      id: String(vmid),
      prepared: { vmid, source: positionals[1]!, destination: positionals[2]!, perms: options.perms },
      inheritedLock: lock,
    };
  },
  body(ctx, { vmid, source, destination, perms }) {
    const failure = copy(ctx, vmid, source, destination, perms);
    if (failure) throw new PctError(failure);
  },
});

function copy(
  ctx: SimContext,
  vmid: number,
  source: string,
  destination: string,
  perms: string | undefined,
): string | null {
  const { layout } = ctx.node;
  let content: Buffer;
  try {
    content = statSync(source).isDirectory() ? Buffer.alloc(0) : readFileSync(source);
  } catch {
    return `failed to open ${source} for reading`;
  }
  const target = resolveInRoot(rootfsPath(layout, vmid), destination);
  if (!existsSync(path.dirname(target))) return `failed to create file: ${destination}: No such file or directory`;
  ctx.fault.at("midway");
  const mode = perms ? parseInt(perms, 8) : 0o644;
  const delay = ctx.fault.visibilityDelayMs;
  if (delay > 0) appearLater(ctx, target, content, mode, delay);
  else writeInPlace(target, content, mode);
  return null;
}

function writeInPlace(target: string, content: Buffer, mode: number): void {
  let fd: number;
  try {
    fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch {
    fd = openSync(target, constants.O_WRONLY | constants.O_TRUNC);
  }
  writeFileSync(fd, content);
  closeSync(fd);
  chmodSync(target, mode);
}

/** The delayed-visibility fault: the file lands at its destination only after `delayMs`. */
function appearLater(ctx: SimContext, target: string, content: Buffer, mode: number, delayMs: number): void {
  const staging = path.join(ctx.node.layout.stateDir, "staging");
  mkdirSync(staging, { recursive: true });
  const staged = path.join(staging, randomBytes(8).toString("hex"));
  writeFileSync(staged, content, { mode });
  const mover =
    "setTimeout(() => { require('fs').renameSync(process.argv[1], process.argv[2]); }, Number(process.argv[3]));";
  spawn(process.execPath, ["-e", mover, staged, target, String(delayMs)], { detached: true, stdio: "ignore" }).unref();
}
