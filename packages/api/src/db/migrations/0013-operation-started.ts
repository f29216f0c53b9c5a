import type { Migration } from "./migration.js";

/**
 * When a job was first claimed: a create that was ever claimed may have reached its node,
 * whatever its attempt count says (a job deferred while the agent still runs its operation
 * gives that attempt back). Rows from before are counted as started: a delete then waits for
 * the create through a delete job, which is safe, rather than ending a record whose container
 * may exist.
 */
export const operationStarted: Migration = {
  version: 13,
  name: "operation-started",
  statements: [
    "ALTER TABLE operations ADD COLUMN IF NOT EXISTS started_at DATETIME(3) NULL",
    "UPDATE operations SET started_at = created_at WHERE started_at IS NULL",
  ],
};
