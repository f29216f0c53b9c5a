import { randomBytes } from "node:crypto";

/** A random MAC under Proxmox's default prefix (BC:24:11), as it gives every new NIC. */
export function randomMac(): string {
  return ["BC", "24", "11", ...[...randomBytes(3)].map((b) => b.toString(16).toUpperCase().padStart(2, "0"))].join(":");
}
