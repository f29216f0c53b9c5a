import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runCommand } from "./run-command.js";

/** The parts of the runtime's tarball a package ships. */
export interface RuntimeFiles {
  readonly node: string;
  readonly license: string;
  /** What the binary needs from Debian, as dpkg-shlibdeps says: `libc6 (>= 2.34)`, ... */
  readonly depends: readonly string[];
}

/**
 * Unpacks bin/node and LICENSE from the runtime's npm tarball into `dir`, strips node as
 * debhelper's dh_strip strips an executable (its symbols and debug information are a seventh
 * of it, and Debian ships binaries stripped), and reads what it links against.
 */
export async function runtimeFiles(tarball: string, dir: string): Promise<RuntimeFiles> {
  mkdirSync(dir, { recursive: true });
  await runCommand("tar", ["-xzf", tarball, "-C", dir, "--strip-components=1", "package/bin/node", "package/LICENSE"]);
  const node = path.join(dir, "bin/node");
  await runCommand("strip", ["--remove-section=.comment", "--remove-section=.note", node]);
  return {
    node,
    license: path.join(dir, "LICENSE"),
    depends: await sharedLibraryDepends(node, path.join(dir, "shlibdeps")),
  };
}

/** dpkg-shlibdeps wants a debian/control to name the package it works for; any will do. */
async function sharedLibraryDepends(binary: string, scratch: string): Promise<string[]> {
  mkdirSync(path.join(scratch, "debian"), { recursive: true });
  writeFileSync(path.join(scratch, "debian/control"), "Source: lockstep\n\nPackage: lockstep\nArchitecture: amd64\n");
  const out = await runCommand("dpkg-shlibdeps", ["-O", "--warnings=0", binary], { cwd: scratch });
  const line = out.split("\n").find((l) => l.startsWith("shlibs:Depends="));
  return line ? line.slice("shlibs:Depends=".length).split(", ").filter(Boolean) : [];
}
