import { lstatSync, readlinkSync } from "node:fs";
import path from "node:path";

/**
 * Resolves a path inside a container to a host path with chroot semantics: `..` stops at the
 * container's root, symlinks are followed inside it, and absolute link targets are relative
 * to it. Whatever the input, the result lies under `rootfs`: the simulator runs as root on
 * real machines and must never touch a host file through a container path.
 */
export function resolveInRoot(rootfs: string, containerPath: string, followLast = true): string {
  const done: string[] = [];
  let pending = containerPath.split("/").filter(Boolean);
  let hops = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (part === ".") continue;
    if (part === "..") {
      done.pop();
      continue;
    }
    const candidate = path.join(rootfs, ...done, part);
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch {
      isLink = false;
    }
    if (isLink && (rest.length > 0 || followLast)) {
      if (++hops > 40)
        throw Object.assign(new Error(`${containerPath}: Too many levels of symbolic links`), { code: "ELOOP" });
      const target = readlinkSync(candidate);
      if (target.startsWith("/")) done.length = 0;
      pending = [...target.split("/").filter(Boolean), ...pending];
      continue;
    }
    done.push(part);
  }
  return path.join(rootfs, ...done);
}
