/** One line of /proc/locks. */
export interface KernelLock {
  readonly kind: "FLOCK" | "POSIX" | "OFDLCK" | "LEASE" | string;
  readonly mode: string;
  readonly pid: number;
  readonly major: number;
  readonly minor: number;
  readonly inode: number;
  /** A `->` line: a process blocked waiting for the lock, not holding it. */
  readonly waiting: boolean;
}

const LINE = /^\d+:\s+(->\s+)?(\S+)\s+\S+\s+(\S+)\s+(-?\d+)\s+([0-9a-fA-F]+):([0-9a-fA-F]+):(\d+)\s/;

/**
 * Parses /proc/locks: `<n>: FLOCK  ADVISORY  WRITE <pid> <maj>:<min>:<inode> 0 EOF`, waiters
 * marked `->`. Device numbers are hex of variable width; the inode is decimal.
 */
export function parseProcLocks(text: string): KernelLock[] {
  const locks: KernelLock[] = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    locks.push({
      kind: m[2]!,
      mode: m[3]!,
      pid: Number(m[4]),
      major: parseInt(m[5]!, 16),
      minor: parseInt(m[6]!, 16),
      inode: Number(m[7]),
      waiting: Boolean(m[1]),
    });
  }
  return locks;
}

/** glibc's encoding of `stat().dev` into major and minor numbers. */
export function devToMajorMinor(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}
