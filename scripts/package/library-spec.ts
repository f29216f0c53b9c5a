/** One bundle: an entry of the workspace's tsc build joined with everything it imports. */
export interface BundleSpec {
  /** Where it lands, relative to the library's directory. */
  readonly out: string;
  /** The compiled entry it starts from, relative to the repository. */
  readonly entry: string;
  /** Repository files that stand for the same program: the package.json `bin` shims importing `entry`. */
  readonly alsoAt?: readonly string[];
  /** Run by path (a `#!` naming the package's runtime, mode 0755), not only as `node <file>`. */
  readonly executable: boolean;
}

/** A file the code loads at run time by URL, shipped as it is. */
export interface AssetSpec {
  readonly out: string;
  readonly source: string;
}

/**
 * What one package's library directory holds: its bundles and assets, and the files the code
 * names by URL that the package leaves out on purpose, each with the reason.
 */
export interface LibrarySpec {
  /** The directory on the installed system, e.g. /usr/lib/lockstep. */
  readonly dir: string;
  /** The runtime every bundle runs on, relative to `dir`. */
  readonly runtime: string;
  readonly bundles: readonly BundleSpec[];
  readonly assets: readonly AssetSpec[];
  readonly omitted: Readonly<Record<string, string>>;
  /**
   * npm packages bundled from their CommonJS entry (`require` condition) instead of their ES
   * one, whose import.meta the bundle could not relocate.
   */
  readonly commonJs?: readonly string[];
}

/** The agent package's library: the daemon, the node CLI, and the simulator that `--simulate` runs. */
export const AGENT_LIBRARY: LibrarySpec = {
  dir: "/usr/lib/lockstep",
  runtime: "node/bin/node",
  bundles: [
    {
      out: "agent/lockstep-agent.mjs",
      entry: "packages/agent/dist/daemon/main.js",
      alsoAt: ["packages/agent/bin/lockstep-agent.js"],
      executable: true,
    },
    {
      out: "agent/lockstep-node.mjs",
      entry: "packages/agent/dist/cli/main.js",
      alsoAt: ["packages/agent/bin/lockstep-node.js"],
      executable: true,
    },
    // pct, its task worker process and the worker's body thread are one program (sim main.ts).
    {
      out: "sim/lockstep-sim-pct.mjs",
      entry: "packages/sim/dist/main.js",
      alsoAt: ["packages/sim/bin/lockstep-sim-pct.js"],
      executable: true,
    },
    {
      out: "sim/lockstep-sim-qm.mjs",
      entry: "packages/sim/dist/qm/main.js",
      alsoAt: ["packages/sim/bin/lockstep-sim-qm.js"],
      executable: true,
    },
    {
      out: "sim/lockstep-sim-vzdump.mjs",
      entry: "packages/sim/dist/vzdump/main.js",
      alsoAt: ["packages/sim/bin/lockstep-sim-vzdump.js"],
      executable: true,
    },
    {
      out: "sim/lockstep-sim-ha-manager.mjs",
      entry: "packages/sim/dist/ha/ha-manager.js",
      alsoAt: ["packages/sim/bin/lockstep-sim-ha-manager.js"],
      executable: true,
    },
    // The node tools the doctor asks besides pct (a simulated node's own, packages/sim/src/tools).
    {
      out: "sim/lockstep-sim-pveversion.mjs",
      entry: "packages/sim/dist/tools/pveversion-main.js",
      alsoAt: ["packages/sim/bin/lockstep-sim-pveversion.js"],
      executable: true,
    },
    {
      out: "sim/lockstep-sim-pvesh.mjs",
      entry: "packages/sim/dist/tools/pvesh-main.js",
      alsoAt: ["packages/sim/bin/lockstep-sim-pvesh.js"],
      executable: true,
    },
    {
      out: "sim/lockstep-sim-pvesm.mjs",
      entry: "packages/sim/dist/tools/pvesm-main.js",
      alsoAt: ["packages/sim/bin/lockstep-sim-pvesm.js"],
      executable: true,
    },
    {
      out: "sim/lockstep-sim-chronyc.mjs",
      entry: "packages/sim/dist/tools/chronyc-main.js",
      alsoAt: ["packages/sim/bin/lockstep-sim-chronyc.js"],
      executable: true,
    },
    // Background processes the simulated ha-manager and HA requests start with `node <file>`.
    { out: "sim/ha-relocate.mjs", entry: "packages/sim/dist/ha/ha-relocate.js", executable: false },
    { out: "sim/ha-apply.mjs", entry: "packages/sim/dist/ha/ha-apply.js", executable: false },
  ],
  assets: [
    { out: "agent/cluster-fs-reader.cjs", source: "packages/agent/helpers/cluster-fs-reader.cjs" },
    { out: "agent/fd-scan-thread.cjs", source: "packages/agent/helpers/fd-scan-thread.cjs" },
    // koffi's native module (glibc, x86-64), for the executor's SO_PEERCRED check: the bundled
    // koffi loads it by a path relative to the bundle (its loader's require("./linux_x64/koffi.node")).
    {
      out: "agent/linux_x64/koffi.node",
      source:
        "node_modules/.pnpm/@koromix+koffi-linux-x64@3.3.4/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node",
    },
  ],
  // koffi's ES entry finds its native module through import.meta.dirname; its CommonJS one
  // asks its platform package first, whose loader requires ./linux_x64/koffi.node (above).
  commonJs: ["koffi"],
  omitted: {
    "packages/sim/pmxcfs/pmxcfs-server.py":
      "the simulated FUSE pmxcfs needs python3-fusepy; a packaged simulated node keeps /etc/pve as plain directories, as the simulator does without /dev/fuse",
  },
};

/** The API package's library: the API and lockstep-pki. */
export const API_LIBRARY: LibrarySpec = {
  dir: "/usr/lib/lockstep-api",
  runtime: "node/bin/node",
  bundles: [
    {
      out: "lockstep-api.mjs",
      entry: "packages/api/dist/main.js",
      alsoAt: ["packages/api/bin/lockstep-api.js"],
      executable: true,
    },
    {
      out: "lockstep-pki.mjs",
      entry: "packages/shared/dist/pki/pki-main.js",
      alsoAt: ["packages/shared/bin/lockstep-pki.js"],
      executable: true,
    },
  ],
  assets: [],
  omitted: {},
};

/**
 * Modules a bundle replaces with generated code: the version module reads the root
 * package.json in a clone; a package has its release's version written in.
 */
export function replacedModules(version: string): Record<string, string> {
  return {
    "packages/shared/dist/version/lockstep-version.js": `/** Lockstep's version, written in at bundle time (scripts/package/library-spec.ts). */\nexport function lockstepVersion() {\n  return ${JSON.stringify(version)};\n}\n`,
  };
}
