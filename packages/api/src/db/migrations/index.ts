import { initial } from "./0001-initial.js";
import { allocatorLocks } from "./0002-allocator-locks.js";
import { incidentSource } from "./0003-incident-source.js";
import { drift } from "./0004-drift.js";
import { apiTokens } from "./0005-api-tokens.js";
import { vmidCursor } from "./0006-vmid-cursor.js";
import { nodeClusters } from "./0007-node-clusters.js";
import { nodeMaintenance } from "./0008-node-maintenance.js";
import { idempotencyClaim } from "./0009-idempotency-claim.js";
import { leaseTable } from "./0010-leases.js";
import { vmidPool } from "./0011-vmid-pool.js";
import { operationSeq } from "./0012-operation-seq.js";
import { operationStarted } from "./0013-operation-started.js";
import { tokenPolicy } from "./0014-token-policy.js";
import type { Migration } from "./migration.js";

/** Every migration, in the order they apply. */
export const migrations: readonly Migration[] = [
  initial,
  allocatorLocks,
  incidentSource,
  drift,
  apiTokens,
  vmidCursor,
  nodeClusters,
  nodeMaintenance,
  idempotencyClaim,
  leaseTable,
  vmidPool,
  operationSeq,
  operationStarted,
  tokenPolicy,
];
export type { Migration };
