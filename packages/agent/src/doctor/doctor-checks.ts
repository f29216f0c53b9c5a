import type { DoctorCheck } from "./check.js";
import { activeTasksCheck } from "./checks/active-tasks-check.js";
import { certificatesCheck } from "./checks/certificates-check.js";
import { clockCheck } from "./checks/clock-check.js";
import { pveFuseCheck, pveMountedCheck, pveQuorumCheck } from "./checks/cluster-fs-checks.js";
import { containerConfigsCheck } from "./checks/container-configs-check.js";
import { executorCheck } from "./checks/executor-check.js";
import { lockDirCheck } from "./checks/lock-dir-check.js";
import { nodeNameCheck } from "./checks/node-name-check.js";
import { nodePolicyCheck } from "./checks/node-policy-check.js";
import { pctCheck } from "./checks/pct-check.js";
import { procLocksCheck } from "./checks/proc-locks-check.js";
import { pveVersionCheck } from "./checks/pve-version-check.js";
import { pveshCheck } from "./checks/pvesh-check.js";
import { stateDirCheck } from "./checks/state-dir-check.js";
import { storagesCheck } from "./checks/storages-check.js";

/** Every check, in the order the report lists them: the node's tools, /etc/pve, locks and tasks, storage, the agent's own. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  pctCheck,
  pveshCheck,
  pveVersionCheck,
  pveMountedCheck,
  pveFuseCheck,
  pveQuorumCheck,
  nodeNameCheck,
  lockDirCheck,
  procLocksCheck,
  activeTasksCheck,
  containerConfigsCheck,
  storagesCheck,
  stateDirCheck,
  certificatesCheck,
  executorCheck,
  nodePolicyCheck,
  clockCheck,
];
