import type { Migration } from "./migration.js";

/** Records of the control plane: nodes, containers, allocations, operations, keys, incidents. */
export const initial: Migration = {
  version: 1,
  name: "initial",
  statements: [
    `CREATE TABLE IF NOT EXISTS nodes (
      name VARCHAR(63) NOT NULL PRIMARY KEY,
      address VARCHAR(255) NOT NULL,
      credentials_ref VARCHAR(255) NULL,
      health_state ENUM('unknown','healthy','unresponsive','unreachable') NOT NULL DEFAULT 'unknown',
      last_health JSON NULL,
      last_seen_at DATETIME(3) NULL,
      unreachable_since DATETIME(3) NULL,
      created_at DATETIME(3) NOT NULL,
      updated_at DATETIME(3) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,

    `CREATE TABLE IF NOT EXISTS containers (
      id CHAR(36) NOT NULL PRIMARY KEY,
      node VARCHAR(63) NOT NULL,
      vmid INT UNSIGNED NOT NULL,
      hostname VARCHAR(253) NOT NULL,
      spec JSON NOT NULL,
      desired_state ENUM('running','stopped','deleted') NOT NULL,
      status ENUM('pending','provisioning','running','failed','deleting','deleted') NOT NULL,
      observed_state VARCHAR(32) NULL,
      observed_at DATETIME(3) NULL,
      created_at DATETIME(3) NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      deleted_at DATETIME(3) NULL,
      KEY containers_node_status (node, status),
      KEY containers_vmid (vmid),
      CONSTRAINT containers_node_fk FOREIGN KEY (node) REFERENCES nodes (name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,

    // One row per VMID in use anywhere in the cluster: the primary key is the guarantee that
    // two containers never share one. Foreign containers (not Lockstep's) hold rows too.
    `CREATE TABLE IF NOT EXISTS vmid_allocations (
      vmid INT UNSIGNED NOT NULL PRIMARY KEY,
      node VARCHAR(63) NOT NULL,
      container_id CHAR(36) NULL,
      owner ENUM('lockstep','foreign') NOT NULL,
      allocated_at DATETIME(3) NOT NULL,
      UNIQUE KEY vmid_allocations_container (container_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,

    `CREATE TABLE IF NOT EXISTS port_allocations (
      node VARCHAR(63) NOT NULL,
      port SMALLINT UNSIGNED NOT NULL,
      container_id CHAR(36) NOT NULL,
      name VARCHAR(63) NOT NULL,
      allocated_at DATETIME(3) NOT NULL,
      PRIMARY KEY (node, port),
      UNIQUE KEY port_allocations_container_name (container_id, name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,

    `CREATE TABLE IF NOT EXISTS operations (
      id CHAR(36) NOT NULL PRIMARY KEY,
      container_id CHAR(36) NULL,
      node VARCHAR(63) NULL,
      kind VARCHAR(32) NOT NULL,
      status ENUM('queued','running','succeeded','failed','cancelled') NOT NULL,
      attempts INT UNSIGNED NOT NULL DEFAULT 0,
      max_attempts INT UNSIGNED NOT NULL,
      next_attempt_at DATETIME(3) NOT NULL,
      lease_owner VARCHAR(128) NULL,
      lease_expires_at DATETIME(3) NULL,
      input JSON NOT NULL,
      steps JSON NOT NULL,
      result JSON NULL,
      error JSON NULL,
      created_at DATETIME(3) NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      finished_at DATETIME(3) NULL,
      KEY operations_claim (status, next_attempt_at),
      KEY operations_container (container_id, created_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,

    `CREATE TABLE IF NOT EXISTS idempotency_keys (
      scope VARCHAR(128) NOT NULL,
      idem_key VARCHAR(255) NOT NULL,
      method VARCHAR(8) NOT NULL,
      path VARCHAR(512) NOT NULL,
      fingerprint CHAR(64) NOT NULL,
      state ENUM('in_flight','done') NOT NULL,
      response_status SMALLINT UNSIGNED NULL,
      response_headers JSON NULL,
      response_body LONGBLOB NULL,
      created_at DATETIME(3) NOT NULL,
      expires_at DATETIME(3) NOT NULL,
      PRIMARY KEY (scope, idem_key),
      KEY idempotency_keys_expiry (expires_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,

    `CREATE TABLE IF NOT EXISTS incidents (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      at DATETIME(3) NOT NULL,
      node VARCHAR(63) NULL,
      vmid INT UNSIGNED NULL,
      kind VARCHAR(64) NOT NULL,
      severity ENUM('info','warning','critical') NOT NULL,
      container_id CHAR(36) NULL,
      operation_id CHAR(36) NULL,
      detail TEXT NOT NULL,
      KEY incidents_at (at),
      KEY incidents_node_vmid (node, vmid, at),
      KEY incidents_kind (kind, at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,

    `CREATE TABLE IF NOT EXISTS alerts (
      dedup_key VARCHAR(255) NOT NULL PRIMARY KEY,
      node VARCHAR(63) NOT NULL,
      kind VARCHAR(64) NOT NULL,
      state ENUM('open','resolved') NOT NULL,
      summary TEXT NOT NULL,
      opened_at DATETIME(3) NOT NULL,
      resolved_at DATETIME(3) NULL,
      KEY alerts_node_state (node, state)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  ],
};
