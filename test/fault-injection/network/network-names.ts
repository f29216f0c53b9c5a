import { NetworkError } from "./network-error.js";

/**
 * Every name the toolkit gives starts with this, so that what a crashed run left is found by
 * name alone: namespaces `lsnet-<token>-<pid>-<start>-<role>`, root links `lsnet<token>`.
 */
export const NAME_PREFIX = "lsnet";

/** The root namespace, as a host of the network: its link into the bridge has the first address. */
export const ROOT_HOST = "root";
/** The role of the namespace that holds the bridge (and the drop rules). */
export const BRIDGE_ROLE = "bridge";

/**
 * One run of the toolkit: a random token (two networks of one process differ by it) and the
 * owning process, as its pid and its start time in /proc (a reused pid has another start).
 */
export interface RunId {
  readonly token: string;
  readonly pid: number;
  readonly start: string;
}

// A host's bridge port is `h-<host>`: interface names have at most 15 characters.
const HOST_NAME = /^[a-z][a-z0-9]{0,12}$/;
const NAMESPACE = new RegExp(`^${NAME_PREFIX}-([0-9a-f]{8})-(\\d+)-(\\d+)-([a-z][a-z0-9]*)$`);
const ROOT_LINK = new RegExp(`^${NAME_PREFIX}([0-9a-f]{8})$`);

/** Refuses a host name that cannot name a namespace and a bridge port, or that is reserved. */
export function checkHostName(host: string): void {
  if (!HOST_NAME.test(host))
    throw new NetworkError(
      "BAD_INPUT",
      `host name '${host}' must be a lowercase letter then up to 12 lowercase letters or digits`,
    );
  if (host === ROOT_HOST || host === BRIDGE_ROLE)
    throw new NetworkError("BAD_INPUT", `host name '${host}' is reserved`);
}

/** The namespace of a host (or of the bridge, role BRIDGE_ROLE) of a run. */
export function namespaceName(run: RunId, role: string): string {
  return `${NAME_PREFIX}-${run.token}-${run.pid}-${run.start}-${role}`;
}

/** The run and role a namespace name carries, or null for a name that is not the toolkit's. */
export function parseNamespaceName(name: string): { run: RunId; role: string } | null {
  const m = NAMESPACE.exec(name);
  return m ? { run: { token: m[1]!, pid: Number(m[2]), start: m[3]! }, role: m[4]! } : null;
}

/** The root namespace's end of its link into the run's bridge. */
export function rootLinkName(token: string): string {
  return `${NAME_PREFIX}${token}`;
}

/** The token a root link name carries, or null for a link that is not the toolkit's. */
export function parseRootLinkName(name: string): string | null {
  return ROOT_LINK.exec(name)?.[1] ?? null;
}

/** A host's port on the bridge (the bridge's end of its veth pair), where its drop rules match. */
export function portName(host: string): string {
  return `h-${host}`;
}
