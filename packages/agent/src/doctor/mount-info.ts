import { readFile } from "node:fs/promises";

/** One line of /proc/self/mountinfo: where, what, from where. */
export interface MountEntry {
  readonly mountpoint: string;
  readonly fstype: string;
  readonly source: string;
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal (proc(5)).
const unescape = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** Parses mountinfo: field 5 is the mount point; after ` - ` come the type and the source. */
export function parseMountInfo(text: string): MountEntry[] {
  return text
    .split("\n")
    .filter((line) => line.includes(" - "))
    .map((line) => {
      const [left = "", right = ""] = line.split(" - ");
      const [fstype = "", source = ""] = right.split(" ");
      return { mountpoint: unescape(left.split(" ")[4] ?? ""), fstype, source: unescape(source) };
    });
}

/** The mounts this process sees. Reading procfs never blocks on a hung FUSE server. */
export async function readMountInfo(file = "/proc/self/mountinfo"): Promise<MountEntry[]> {
  return parseMountInfo(await readFile(file, "utf8"));
}

/**
 * The mount holding `file` (an absolute, normalized path): the last-mounted entry with the
 * longest mount point that is `file` or one of its parents. No syscall on `file` itself, so a
 * hung mount there is not touched.
 */
export function mountOf(mounts: readonly MountEntry[], file: string): MountEntry | null {
  let best: MountEntry | null = null;
  for (const mount of mounts) {
    const under = mount.mountpoint === "/" || file === mount.mountpoint || file.startsWith(`${mount.mountpoint}/`);
    if (under && (!best || mount.mountpoint.length >= best.mountpoint.length)) best = mount;
  }
  return best;
}

/** pmxcfs mounts itself as FUSE (`fuse`, or `fuse.<subtype>`). */
export function isFuse(mount: MountEntry): boolean {
  return /^fuse(\.|$)/.test(mount.fstype);
}
