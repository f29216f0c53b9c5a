import { vmidInUseMessage } from "../node/guest-of-vmid.js";
import { PctError } from "../node/pct-error.js";
import type { SimLayout } from "../node/sim-layout.js";

/** pve-cluster Cluster.pm `check_vmid_unused`: dies when any guest of the cluster holds `vmid`. */
export function checkVmidUnused(layout: SimLayout, vmid: number): void {
  const message = vmidInUseMessage(layout, vmid);
  if (message) throw new PctError(message);
}
