import { PctError } from "../node/pct-error.js";
import type { SimNode } from "../node/sim-node.js";
import { pveRelease } from "./node-versions.js";

/**
 * The simulated `pvesh` (pve-manager PVE/CLI/pvesh.pm): only `get /version`, the one path the
 * agent's doctor reads. PVE/API2.pm `version` answers pvecfg's version_info (version,
 * release, repoid) and datacenter.cfg's `console`, which a simulated node never sets.
 * `--output-format json` prints as pve-common PVE/CLIFormatter.pm print_api_result does:
 * to_json with canonical (sorted) keys and a newline. Other formats are not modelled.
 */
export function pvesh(node: Pick<SimNode, "pve">, argv: readonly string[]): string {
  const [command, apiPath, ...rest] = argv;
  if (command !== "get")
    throw new PctError(`simulator: pvesh ${command ?? ""} is not modelled (only 'pvesh get /version')`, 2);
  if (apiPath === undefined) throw new PctError("missing API path");
  const format = outputFormat(rest);
  // pvesh.pm call_api_method: PVE::API2->find_handler failed.
  if (apiPath.replace(/\/+$/, "") !== "/version") throw new PctError(`no 'get' handler for '${apiPath}'`);
  const { version, release, repoid } = pveRelease(node).manager;
  const data: Record<string, string> = { release, repoid, version };
  if (format !== "json")
    throw new PctError(`simulator: pvesh --output-format ${format} is not modelled (only json)`, 2);
  return `${JSON.stringify(data)}\n`;
}

function outputFormat(args: readonly string[]): string {
  if (args.length === 0) return "text";
  if (args.length === 2 && args[0] === "--output-format") return args[1]!;
  throw new PctError(`simulator: pvesh options ${args.join(" ")} are not modelled (only --output-format)`, 2);
}
