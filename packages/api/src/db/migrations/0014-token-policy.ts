import type { Migration } from "./migration.js";

/**
 * Policies per token, and who asked for what. A token's `policy` (JSON, defaults applied)
 * replaces the API's global one for it; NULL: the global one. A container keeps the token that
 * created it (its quota counts it, and its compliance is judged by that token's policy), and an
 * operation the token that asked for it (an agent's refusal names it in its incident). Rows from
 * before have none: the global policy judges them.
 */
export const tokenPolicy: Migration = {
  version: 14,
  name: "token-policy",
  statements: [
    "ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS policy JSON NULL",
    "ALTER TABLE containers ADD COLUMN IF NOT EXISTS token_id CHAR(12) NULL",
    "CREATE INDEX IF NOT EXISTS containers_token ON containers (token_id, status)",
    "ALTER TABLE operations ADD COLUMN IF NOT EXISTS token_id CHAR(12) NULL",
  ],
};
