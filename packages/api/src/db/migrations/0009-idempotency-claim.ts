import type { Migration } from "./migration.js";

/**
 * Which request holds an in-flight Idempotency-Key. A claim's transaction is run again when
 * its COMMIT was lost, and then finds its own row: the token tells it from a concurrent
 * duplicate's, which must get 409. The handler's transaction and the release check it too, so
 * a request whose abandoned claim was taken over can neither complete nor free the key.
 */
export const idempotencyClaim: Migration = {
  version: 9,
  name: "idempotency-claim",
  statements: [`ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS claim_token CHAR(36) NULL AFTER state`],
};
