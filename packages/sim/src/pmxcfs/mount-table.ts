import { readFileSync } from "node:fs";

/** One line of /proc/self/mountinfo: where and what. */
export interface MountEntry {
  readonly mountpoint: string;
  readonly fstype: string;
  readonly source: string;
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
const unescape = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** Every mount this process sees (proc(5): mountinfo). */
function readMounts(): MountEntry[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [left = "", right = ""] = line.split(" - ");
      const [fstype = "", source = ""] = right.split(" ");
      return { mountpoint: unescape(left.split(" ")[4] ?? ""), fstype, source: unescape(source) };
    });
}

/** The FUSE mount at `mountpoint`, if one is there (fstype `fuse` or `fuse.<subtype>`). */
export function fuseMountAt(mountpoint: string): MountEntry | undefined {
  return readMounts().find((m) => m.mountpoint === mountpoint && /^fuse(\.|$)/.test(m.fstype));
}
