import type { Migration } from "./migration.js";

/**
 * API tokens, stored as a SHA-256 of their secret. Idempotency keys become unique across
 * tokens: a key stays scoped to the token that first sent it, and another token presenting
 * it is refused instead of running the request a second time.
 */
export const apiTokens: Migration = {
  version: 5,
  name: "api-tokens",
  statements: [
    `CREATE TABLE IF NOT EXISTS api_tokens (
      id CHAR(12) NOT NULL PRIMARY KEY,
      name VARCHAR(64) NOT NULL,
      scope ENUM('read','operator','admin') NOT NULL,
      secret_sha256 BINARY(32) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      last_used_at DATETIME(3) NULL,
      revoked_at DATETIME(3) NULL,
      KEY api_tokens_name (name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    // Keys from before tokens belong to no token and expire with their retention.
    `ALTER TABLE idempotency_keys DROP PRIMARY KEY, ADD PRIMARY KEY (idem_key)`,
  ],
};
