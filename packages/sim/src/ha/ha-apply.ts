// The simulated HA manager's action for one request: after the delay, under the CT's config
// flock (the LRM runs vm_start/vm_stop, which take it), the CT reaches the requested state
// unless the request changed meanwhile. Run detached by ha-request.ts.
import { bootSystemd } from "../container/systemd.js";
import { acquireFlock, sleepSync } from "../locking/flock.js";
import { configExists } from "../node/ct-config.js";
import { updateRuntime } from "../node/runtime-state.js";
import { lockPath, rootfsPath, simLayout } from "../node/sim-layout.js";
import { haResource } from "./ha-resources.js";

const [root, node, vmidText, want, delay] = process.argv.slice(2) as [
  string,
  string,
  string,
  "started" | "stopped",
  string,
];
const layout = simLayout(root, node);
const vmid = Number(vmidText);
sleepSync(Number(delay));
const lock = acquireFlock(lockPath(layout, vmid), 10, false);
if (lock && configExists(layout, vmid) && haResource(layout, vmid)?.state === want) {
  updateRuntime(layout, vmid, (s) => {
    if (want === "started" && !s.running) Object.assign(s, { running: true, startedAt: Date.now() });
    if (want === "stopped") Object.assign(s, { running: false, startedAt: 0, loaded: [], active: [] });
  });
  if (want === "started") bootSystemd(layout, vmid, rootfsPath(layout, vmid));
}
lock?.release();
