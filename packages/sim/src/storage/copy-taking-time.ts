import type { TaskIo } from "../tasks/task-command.js";

/** The default copy speed: 8 GB (a default disk) take 2 s. */
const DEFAULT_COPY_MS_PER_GB = 250;

/**
 * A volume copy that takes time in proportion to its size (LOCKSTEP_SIM_COPY_MS_PER_GB), in
 * steps that notice an interrupt as a Proxmox worker does: a full clone's copy and a
 * migration's storage_migrate alike.
 */
export function copyTakingTime(gb: number, io: TaskIo, env: NodeJS.ProcessEnv): void {
  const perGb = Number(env.LOCKSTEP_SIM_COPY_MS_PER_GB ?? DEFAULT_COPY_MS_PER_GB);
  let left = Math.max(0, gb * (Number.isFinite(perGb) ? perGb : DEFAULT_COPY_MS_PER_GB));
  while (left > 0) {
    const step = Math.min(left, 200);
    io.sleep(step);
    left -= step;
  }
  io.checkpoint();
}
