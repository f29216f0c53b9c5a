// The simulated HA stack acting on one `ha-manager migrate|relocate ct:<vmid> <node>`, run
// detached by ha-manager.ts with the node's environment. pve-ha-manager
// src/PVE/HA/Resources/PVECT.pm `migrate` (what the LRM of the CT's node runs for both: a CT
// is always relocated): shut the CT down if it runs (`vm_shutdown`, timeout 60), then
// `migrate_vm` with online 0; then the CRM starts it on the target when its requested state
// is `started`. Each step is a real `pct` task with the HA environment (rpcenv type 'ha':
// no hastart/hamigrate detour, `task started by HA resource agent`).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { memberRoot } from "../cluster/cluster-members.js";
import { sleepSync } from "../locking/flock.js";
import { guestOfVmid } from "../node/guest-of-vmid.js";
import { readRuntime } from "../node/runtime-state.js";
import { simLayout } from "../node/sim-layout.js";
import { openSimNode } from "../node/sim-node.js";
import { HA_CALLER, haResource } from "./ha-resources.js";

const PCT_BIN = fileURLToPath(new URL("../../bin/lockstep-sim-pct.js", import.meta.url));

const [, vmidText, target, delay] = process.argv.slice(2) as [string, string, string, string];
const vmid = Number(vmidText);
const node = openSimNode(process.env);
sleepSync(Number(delay));
const guest = guestOfVmid(node.layout, vmid);
const resource = haResource(node.layout, vmid);
const sourceRoot =
  guest === null
    ? null
    : guest.node === node.name
      ? node.layout.root
      : node.cluster
        ? memberRoot(node.cluster, guest.node)
        : null;
if (guest?.type === "lxc" && guest.node !== target && resource && sourceRoot) {
  const env = (root: string, name: string): NodeJS.ProcessEnv => ({
    ...process.env,
    LOCKSTEP_SIM_ROOT: root,
    LOCKSTEP_SIM_NODE: name,
    LOCKSTEP_SIM_RPCENV: "ha",
    LOCKSTEP_SIM_CALLER: HA_CALLER,
  });
  const pct = (root: string, name: string, args: string[]): number =>
    spawnSync(process.execPath, [PCT_BIN, ...args], { env: env(root, name), stdio: "ignore" }).status ?? 255;
  if (readRuntime(simLayout(sourceRoot, guest.node), vmid).running)
    pct(sourceRoot, guest.node, ["shutdown", String(vmid), "--timeout", "60"]);
  const targetRoot = node.cluster ? memberRoot(node.cluster, target) : null;
  const migrated = pct(sourceRoot, guest.node, ["migrate", String(vmid), target]) === 0;
  // Manager.pm next_state_migrate_relocate: a requested state of `started` is set again on the
  // target after a migration, and on the CT's own node after a failed one, where its LRM
  // starts the CT again (one start: the restart policy's further tries are not simulated).
  if (resource.state === "started") {
    if (migrated && targetRoot) pct(targetRoot, target, ["start", String(vmid)]);
    if (!migrated) pct(sourceRoot, guest.node, ["start", String(vmid)]);
  }
}
