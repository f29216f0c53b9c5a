import { LockstepError } from "@lockstep/shared";
import { StateStorageFullError } from "../errors.js";

// The errno codes of a full filesystem and of an exhausted quota.
const FULL = new Set(["ENOSPC", "EDQUOT"]);

/**
 * The typed error for a failed write under the agent's state directory: a full disk or quota
 * is STATE_STORAGE_FULL (the operator must free space; nothing ran), anything else stays
 * UNAVAILABLE as before.
 */
export function stateStorageFailure(message: string, cause: unknown, metadata: Record<string, string>): LockstepError {
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  if (code && FULL.has(code))
    return Object.assign(
      new StateStorageFullError(`${message} (the agent's state directory is full)`, { ...metadata, errno: code }),
      { cause },
    );
  return new LockstepError("UNAVAILABLE", message, metadata, { cause });
}
