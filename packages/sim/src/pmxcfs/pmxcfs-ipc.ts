import { PctError } from "../node/pct-error.js";
import type { SimLayout } from "../node/sim-layout.js";
import { readPmxcfsState } from "./pmxcfs-state.js";

/**
 * Proxmox's Perl reads the cluster's data over libqb IPC from the pmxcfs process, not through
 * the FUSE mount (pve-cluster src/PVE/IPCC.xs ipcc_send_rec; Cluster.pm ipcc_get_config). With
 * pmxcfs stopped the connect is refused, so every such read fails with ECONNREFUSED: the
 * simulated node answers so while its pmxcfs is stopped.
 */
export function pmxcfsRefusesIpc(layout: SimLayout): boolean {
  return readPmxcfsState(layout.root)?.state === "stopped";
}

/** ECONNREFUSED, which Perl's `$!` prints as this and which an uncaught `die` exits with. */
const ECONNREFUSED = { text: "Connection refused", errno: 111 };

/**
 * A CLI tool's start with pmxcfs stopped, before any command runs: pve-common
 * RESTEnvironment.pm setup_default_cli_env calls init_request (pve-access-control
 * RPCEnvironment.pm), whose cfs_update warns for each of its three IPC calls (Cluster.pm
 * cfs_update: CFS_IPC_GET_FS_VERSION, _GET_CLUSTER_INFO, _GET_GUEST_LIST) and whose read of
 * user.cfg then dies `Unable to load access control list: <err>`. Nothing catches that die, so
 * Perl exits with `$!` (perlfunc die), still ECONNREFUSED.
 */
export function requireCliEnvironment(layout: SimLayout): void {
  if (!pmxcfsRefusesIpc(layout)) return;
  const warnings = [1, 2, 3].map((msgid) => `ipcc_send_rec[${msgid}] failed: ${ECONNREFUSED.text}`);
  throw new PctError(
    [...warnings, `Unable to load access control list: ${ECONNREFUSED.text}`].join("\n"),
    ECONNREFUSED.errno,
  );
}

/**
 * A config read in a running command after pmxcfs stopped: Cluster.pm ipcc_get_config answers
 * undef only for ENOENT and otherwise dies with `$!` alone, which load_config passes on.
 */
export function ipcRefused(): PctError {
  return new PctError(ECONNREFUSED.text);
}
