import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ConfigError } from "@lockstep/shared";

/** A user's numeric IDs, as the node's name service has them. */
export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

const GETENT_TIMEOUT_MS = 5_000;

/**
 * `getent passwd <name>` (Node cannot ask the name service itself): the package's postinst
 * creates the user, so one that is missing is a configuration error naming `key`.
 */
export async function systemUser(name: string, key: string): Promise<SystemUser> {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)("getent", ["passwd", name], { timeout: GETENT_TIMEOUT_MS }));
  } catch {
    throw new ConfigError(`${key}: there is no user '${name}' on this node (getent passwd ${name})`);
  }
  const [, , uid, gid] = stdout.trim().split(":");
  if (!uid || !gid || !/^\d+$/.test(uid) || !/^\d+$/.test(gid))
    throw new ConfigError(`${key}: getent passwd ${name} answered an entry without numeric IDs`);
  return { name, uid: Number(uid), gid: Number(gid) };
}
