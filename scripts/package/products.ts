import { AGENT_LIBRARY, API_LIBRARY, type LibrarySpec } from "./library-spec.js";

/** One Debian package: its library, its commands, its unit, its conffiles and maintainer scripts. */
export interface Product {
  readonly name: string;
  readonly library: LibrarySpec;
  /** /usr/bin/<command> -> the bundle it runs (a library path). */
  readonly commands: Readonly<Record<string, string>>;
  /** Its systemd units, as the repository keeps them. */
  readonly units: readonly string[];
  /** Installed path -> repository file, mode. */
  readonly conffiles: readonly { readonly path: string; readonly from: string; readonly mode: number }[];
  /** The directory holding its postinst, prerm, postrm, README.Debian and lintian-overrides. */
  readonly packaging: string;
  /** Beyond the runtime's shared libraries. */
  readonly depends: readonly string[];
  readonly synopsis: string;
  readonly description: string;
}

// deb-systemd-helper and deb-systemd-invoke, as debhelper's own snippets need them.
const SYSTEMD_HELPERS = "init-system-helpers (>= 1.54~)";

export const AGENT: Product = {
  name: "lockstep-agent",
  library: AGENT_LIBRARY,
  commands: { "lockstep-agent": "agent/lockstep-agent.mjs", "lockstep-node": "agent/lockstep-node.mjs" },
  units: ["packages/agent/systemd/lockstep-agent.service", "packages/agent/systemd/lockstep-agent-executor.service"],
  conffiles: [{ path: "/etc/lockstep/agent.json", from: "packaging/agent/agent.json", mode: 0o644 }],
  packaging: "packaging/agent",
  // The postinst makes the network side's system user with useradd.
  depends: [SYSTEMD_HELPERS, "passwd"],
  synopsis: "Lockstep node agent for Proxmox VE",
  description: `
The agent runs on each Proxmox VE node and alone touches the node: it runs pct
for the Lockstep API over gRPC with mutual TLS, inspects and clears config
locks, and records every request so that a retry never repeats an effect. It
is two services: the network side (gRPC, TLS, request records) runs as the
unprivileged lockstep-agent user, and reaches a small root executor, which
runs pct, over a Unix socket.

This package carries the agent (lockstep-agent), the node CLI (lockstep-node),
the pct simulator that lockstep-agent --simulate runs, and its own Node.js
runtime, so it works on Proxmox VE 8 (Debian 12) and 9 (Debian 13) alike.`,
};

export const API: Product = {
  name: "lockstep-api",
  library: API_LIBRARY,
  commands: { "lockstep-api": "lockstep-api.mjs", "lockstep-pki": "lockstep-pki.mjs" },
  units: ["packages/api/systemd/lockstep-api.service"],
  conffiles: [{ path: "/etc/lockstep/api.env", from: "packaging/api/api.env", mode: 0o600 }],
  packaging: "packaging/api",
  // lockstep-pki makes keys and certificates with openssl.
  depends: [SYSTEMD_HELPERS, "openssl"],
  synopsis: "Lockstep central HTTP API for Proxmox VE container provisioning",
  description: `
The API keeps Lockstep's records in MySQL or MariaDB: containers, VMID and port
allocation, jobs and idempotency keys, and dispatches each job to the node's
agent over gRPC with mutual TLS.

This package carries the API (lockstep-api), lockstep-pki, which makes the
cluster's CA and certificates, and its own Node.js runtime.`,
};
