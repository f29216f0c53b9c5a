import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PctError } from "../node/pct-error.js";
import { openSimNode } from "../node/sim-node.js";
import { requireCliEnvironment } from "../pmxcfs/pmxcfs-ipc.js";
import { haResource, updateResources } from "./ha-resources.js";

const RELOCATOR = fileURLToPath(new URL("./ha-relocate.js", import.meta.url));
const USAGE =
  "USAGE: ha-manager add|remove ct:<vmid> [--state started|stopped|ignored|disabled] | migrate|relocate ct:<vmid> <node>";

// The simulated `ha-manager` (pve-ha-manager's CLI), enough for tests: `add ct:<vmid> [--state s]`,
// `remove ct:<vmid>`, `migrate|relocate ct:<vmid> <node>`.
try {
  const [command, sidArg, ...rest] = process.argv.slice(2);
  const node = openSimNode(process.env);
  requireCliEnvironment(node.layout); // pve-ha-manager PVE/CLI/ha_manager.pm setup_environment, as pct's
  const sid = /^\d+$/.test(sidArg ?? "") ? `ct:${sidArg}` : sidArg;
  if (!sid || !/^ct:\d+$/.test(sid)) throw new PctError(USAGE);
  if (command === "add") {
    const state = rest[0] === "--state" && rest[1] ? rest[1] : "started";
    updateResources(node.layout, (all) => [...all.filter((r) => r.sid !== sid), { sid, state }]);
  } else if (command === "remove") {
    updateResources(node.layout, (all) => all.filter((r) => r.sid !== sid));
  } else if ((command === "migrate" || command === "relocate") && rest.length === 1) {
    queueCrmCommand(node.layout, command, Number(sid.slice(3)), rest[0]!);
  } else {
    throw new PctError(USAGE);
  }
} catch (err) {
  if (!(err instanceof PctError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = err.exitCode;
}

/**
 * pve-ha-manager src/PVE/API2/HA/Resources.pm migrate / relocate: service_is_ha_managed
 * (`resource '<sid>' is not HA managed`), then PVE::HA::Config::queue_crm_commands and
 * return, printing nothing. The CRM and the source node's LRM act later: here a detached
 * helper (ha-relocate.ts) after LOCKSTEP_SIM_HA_DELAY_MS (default 2000).
 */
function queueCrmCommand(
  layout: Parameters<typeof haResource>[0],
  command: "migrate" | "relocate",
  vmid: number,
  target: string,
): void {
  if (!haResource(layout, vmid)) throw new PctError(`resource 'ct:${vmid}' is not HA managed`);
  const delay = process.env.LOCKSTEP_SIM_HA_DELAY_MS ?? "2000";
  spawn(process.execPath, [RELOCATOR, command, String(vmid), target, delay], {
    detached: true,
    stdio: "ignore",
    env: process.env,
  }).unref();
}
