import { listClusterContainers, listClusterVms } from "../../node/cluster-vms.js";
import type { NodeContext } from "../../node/node-context.js";

/**
 * Where the cycle looks for a VMID by default: far above the API's range (10000..99999 by
 * default) and above where Proxmox's next-id counts up from 100, so the throwaway container
 * never races them for one.
 */
export const DOCTOR_VMID_FROM = 999_000_000;
const VMID_MAX = 999_999_999;

/** The first VMID from `from` that no container and no VM of the cluster holds (read through /etc/pve). */
export async function freeVmid(ctx: Pick<NodeContext, "paths" | "clusterFs">, from: number): Promise<number> {
  const guests = [
    ...(await listClusterContainers(ctx.paths, ctx.clusterFs)),
    ...(await listClusterVms(ctx.paths, ctx.clusterFs)),
  ];
  const taken = new Set(guests.map((guest) => guest.vmid));
  for (let vmid = from; vmid <= VMID_MAX; vmid++) if (!taken.has(vmid)) return vmid;
  throw new Error(`no VMID from ${from} to ${VMID_MAX} is free`);
}
