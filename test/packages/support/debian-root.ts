import { execFile } from "node:child_process";
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";

/** The Debian releases the packages are installed into: PVE 8's and PVE 9's. */
export type Suite = "bookworm" | "trixie";

const MIRROR = "http://deb.debian.org/debian";

/** What a command run in a root printed, and how it ended. */
export interface RootRun {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a tool with an argv array and a deadline; resolves with its exit status and output. */
function run(
  file: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RootRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: "SIGKILL", env, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, output: `${stdout}${stderr}${err?.killed ? `\n(killed after ${timeoutMs} ms)` : ""}` });
      },
    );
  });
}

/**
 * A minimal root of `suite` (debootstrap --variant=minbase from Debian's mirror) as a tarball
 * in `cacheDir`, made once and kept between runs; made again when missing.
 */
export async function cachedRoot(suite: Suite, cacheDir: string): Promise<string> {
  const tarball = path.join(cacheDir, `${suite}-minbase.tar.gz`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(path.join(cacheDir, `.${suite}-`));
  try {
    const made = await run("debootstrap", ["--variant=minbase", suite, path.join(work, "root"), MIRROR], 30 * 60_000);
    if (made.code !== 0) throw new Error(`debootstrap ${suite} failed:\n${made.output.slice(-3000)}`);
    const packed = await run(
      "tar",
      ["--numeric-owner", "-czf", path.join(work, "root.tar.gz"), "-C", path.join(work, "root"), "."],
      10 * 60_000,
    );
    if (packed.code !== 0) throw new Error(`packing the ${suite} root failed: ${packed.output}`);
    renameSync(path.join(work, "root.tar.gz"), tarball);
    return tarball;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Unpacks a cached root into `dir`, with the host's resolv.conf so that apt reaches the mirror. */
export async function unpackRoot(tarball: string, dir: string): Promise<void> {
  const unpacked = await run("tar", ["--numeric-owner", "-xzf", tarball, "-C", dir], 10 * 60_000);
  if (unpacked.code !== 0) throw new Error(`unpacking ${tarball} failed: ${unpacked.output}`);
  rmSync(path.join(dir, "etc/resolv.conf"), { force: true });
  copyFileSync("/etc/resolv.conf", path.join(dir, "etc/resolv.conf"));
}

// In a mount and PID namespace of its own: /dev, /proc and /sys are mounted for the chroot
// only, and go when its last process does; whatever the script leaves running (a daemon, a
// detached task worker) is killed with it, and a test killed midway leaves nothing mounted.
const ENTER =
  'root=$1; shift; mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" && mount -t sysfs sysfs "$root/sys" && exec chroot "$root" "$@"';

/** Runs a shell script as root inside the root, with a clean environment and a deadline. */
export function runInRoot(
  root: string,
  script: string,
  timeoutMs: number,
  env: Readonly<Record<string, string>> = {},
): Promise<RootRun> {
  const clean = {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    LANG: "C.UTF-8",
    DEBIAN_FRONTEND: "noninteractive",
    ...env,
  };
  return run(
    "unshare",
    ["--mount", "--pid", "--fork", "--kill-child", "--", "/bin/sh", "-c", ENTER, "sh", root, "/bin/sh", "-ec", script],
    timeoutMs,
    clean,
  );
}

/**
 * Every path in the root (relative, with its type), sorted, but for `ignored` prefixes. Read
 * from outside: the namespaces' mounts are not visible here, so /proc and /sys are empty.
 */
export function fileList(root: string, ignored: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (ignored.some((prefix) => child === prefix || child.startsWith(`${prefix}/`))) continue;
      const stat = lstatSync(path.join(root, child));
      out.push(`${stat.isDirectory() ? "d" : stat.isSymbolicLink() ? "l" : "f"} ${child}`);
      if (stat.isDirectory()) walk(child);
    }
  };
  walk("");
  return out;
}
