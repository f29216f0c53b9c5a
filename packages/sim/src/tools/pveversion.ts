import os from "node:os";
import { PctError } from "../node/pct-error.js";
import type { SimNode } from "../node/sim-node.js";
import { pveRelease, versionText } from "./node-versions.js";

const USAGE = "USAGE: pveversion [--verbose]";
// Getopt::Long's defaults: `--verbose`, `-verbose` and any unique abbreviation (`-v`, `--verb`).
const VERBOSE = /^--?v(e(r(b(o(s(e)?)?)?)?)?)?$/;

/**
 * pve-manager bin/pveversion: without options `pve-manager/<version_text> (running kernel:
 * <uname -r>)`; with --verbose one line per package of API2/APT.pm versions, pve-manager's
 * with `(running version: ...)`. The simulated node runs on this machine's kernel. Its list
 * holds only the packages the simulator follows (no proxmox-ve meta package, no kernels): a
 * package that is not installed is left out, as versions leaves it out.
 */
export function pveversion(node: Pick<SimNode, "pve">, argv: readonly string[]): string {
  const options = argv.filter((arg) => arg.startsWith("-"));
  const unknown = options.find((arg) => !VERBOSE.test(arg));
  // GetOptions warns about the option, then print_usage and exit(-1).
  if (unknown) throw new PctError(`Unknown option: ${unknown.replace(/^--?/, "")}\n${USAGE}`);
  if (options.length < argv.length) throw new PctError(USAGE);
  const release = pveRelease(node);
  if (options.length === 0) return `pve-manager/${versionText(release)} (running kernel: ${os.release()})\n`;
  const lines = [
    `pve-manager: ${release.manager.version} (running version: ${versionText(release)})`,
    ...release.packages.map((p) => `${p.name}: ${p.version}`),
  ];
  return `${lines.join("\n")}\n`;
}
