import type { SimNode } from "../node/sim-node.js";

/** One Debian package of a simulated node and the version it has installed. */
export interface InstalledPackage {
  readonly name: string;
  readonly version: string;
}

/** What a simulated node of one PVE major version has installed. */
export interface PveRelease {
  /** pve-manager's version (PVE::pvecfg::version), its `x.y` release and its git revision (repoid). */
  readonly manager: { readonly version: string; readonly release: string; readonly repoid: string };
  /** pveversion -v's lines after pve-manager's own, sorted by name as API2/APT.pm versions sorts them. */
  readonly packages: readonly InstalledPackage[];
}

// The newest entry of each package's debian/changelog in the sources the simulator follows
// (pve-manager stable-8 and master, pve-container stable-bookworm and master, ...), and
// pve-manager's repoid as its PVE/Makefile makes it (`git rev-parse --short=16 HEAD`).
const RELEASES: Record<8 | 9, PveRelease> = {
  8: {
    manager: { version: "8.4.21", release: "8.4", repoid: "2606ac850d46da29" },
    packages: [
      { name: "libpve-common-perl", version: "8.3.8" },
      { name: "libpve-guest-common-perl", version: "5.2.2" },
      { name: "libpve-storage-perl", version: "8.3.8" },
      { name: "pve-cluster", version: "8.1.3" },
      { name: "pve-container", version: "5.3.5" },
    ],
  },
  9: {
    manager: { version: "9.2.11", release: "9.2", repoid: "14a22df35955d97d" },
    packages: [
      { name: "libpve-common-perl", version: "9.2.1" },
      { name: "libpve-guest-common-perl", version: "6.0.2" },
      { name: "libpve-storage-perl", version: "9.1.7" },
      { name: "pve-cluster", version: "9.1.6" },
      { name: "pve-container", version: "6.1.10" },
    ],
  },
};

/** The release a simulated node runs (LOCKSTEP_SIM_PVE). */
export function pveRelease(node: Pick<SimNode, "pve">): PveRelease {
  return RELEASES[node.pve];
}

/** pve-manager PVE/pvecfg.pm.in version_text: `<version>/<repoid>`. */
export function versionText(release: PveRelease): string {
  return `${release.manager.version}/${release.manager.repoid}`;
}
