import { existsSync } from "node:fs";
import path from "node:path";
import { readRuntime, simLayout } from "@lockstep/sim";
import { asOperator } from "./bystanders.js";
import type { NodeEnv } from "./cluster-pmxcfs.js";
import { nodeContainers, type NodeContainer } from "./node-truth.js";

/** One move of a Lockstep container by Proxmox, as it was tried and how it ended. */
export interface ContainerMove {
  readonly how: "migrate" | "ha-relocate";
  readonly vmid: number;
  readonly record: string;
  readonly from: string;
  readonly to: string;
  /** The container is on `to` (its config there, unlocked), as Proxmox reported or showed. */
  readonly moved: boolean;
  /** What Proxmox said, shortened: the failure's reason when it did not move. */
  readonly said: string;
}

/** What the mover needs of the scenario's cluster. */
export interface MoveSite {
  readonly clusterDir: string;
  readonly envs: ReadonlyMap<string, NodeEnv>;
  readonly roots: ReadonlyMap<string, string>;
}

// How long an HA relocation may take (LOCKSTEP_SIM_HA_DELAY_MS, the shutdown, the copy and the start).
const HA_RELOCATION_MS = 90_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An admin moving Lockstep's containers with Proxmox's own tools: `pct migrate` on the
 * source node, or an HA relocation. Only containers whose record is meant to last (the
 * workload made them and never asked to delete them) are moved, one move per container at a time.
 */
export class ContainerMover {
  private readonly moving = new Set<number>();

  constructor(
    private readonly site: MoveSite,
    /** The records the workload made and never asked to delete. */
    private readonly lasting: () => ReadonlySet<string>,
  ) {}

  /** A container that can be moved now: Lockstep's, lasting, running, unlocked, not moving. */
  candidate(pick: number): NodeContainer | null {
    const lasting = this.lasting();
    const all = [...this.site.roots].flatMap(([node, root]) => nodeContainers(node, root, this.site.clusterDir));
    const movable = all.filter(
      (c) => c.record && lasting.has(c.record) && c.running && !c.lock && !this.moving.has(c.vmid),
    );
    return movable.length ? movable[pick % movable.length]! : null;
  }

  /** `pct migrate <vmid> <target> --restart`, run on the source node as an operator does. */
  async migrate(ct: NodeContainer, target: string): Promise<ContainerMove> {
    this.moving.add(ct.vmid);
    try {
      const run = await asOperator(this.site.envs.get(ct.node)!, "pct", [
        "migrate",
        String(ct.vmid),
        target,
        "--restart",
      ]);
      return {
        how: "migrate",
        vmid: ct.vmid,
        record: ct.record!,
        from: ct.node,
        to: target,
        moved: run.code === 0 && this.settledOn(ct.vmid, target),
        said: lastLine(run.output),
      };
    } finally {
      this.moving.delete(ct.vmid);
    }
  }

  /**
   * An HA relocation (pve-ha-manager: `ha-manager add ct:<vmid>`, then `ha-manager migrate
   * ct:<vmid> <target>`): the CT is shut down, migrated and started on the target by the HA
   * stack's own pct calls. Once it runs there (or the wait is over) it leaves HA again, so that
   * Lockstep's own start, stop and destroy act directly afterwards.
   */
  async haRelocate(ct: NodeContainer, target: string): Promise<ContainerMove> {
    const env = this.site.envs.get(ct.node)!;
    const sid = `ct:${ct.vmid}`;
    this.moving.add(ct.vmid);
    try {
      const added = await asOperator(env, "ha-manager", ["add", sid, "--state", "started"]);
      if (added.code !== 0) return this.failed("ha-relocate", ct, target, added.output);
      const asked = await asOperator(env, "ha-manager", ["migrate", sid, target]);
      if (asked.code !== 0) return this.failed("ha-relocate", ct, target, asked.output);
      const end = Date.now() + HA_RELOCATION_MS;
      while (
        Date.now() < end &&
        !(this.settledOn(ct.vmid, target) && readRuntime(simLayout(this.site.roots.get(target)!), ct.vmid).running)
      )
        await sleep(250);
      const moved = this.settledOn(ct.vmid, target);
      return {
        how: "ha-relocate",
        vmid: ct.vmid,
        record: ct.record!,
        from: ct.node,
        to: target,
        moved,
        said: moved ? "relocated by HA" : `not on ${target} after ${HA_RELOCATION_MS / 1000} s`,
      };
    } finally {
      await this.leaveHa(sid);
      this.moving.delete(ct.vmid);
    }
  }

  /** `ha-manager remove`, from any node whose pmxcfs takes the change (one may be without quorum). */
  private async leaveHa(sid: string): Promise<void> {
    for (const end = Date.now() + 30_000; Date.now() < end; await sleep(500)) {
      for (const env of this.site.envs.values())
        if ((await asOperator(env, "ha-manager", ["remove", sid])).code === 0) return;
    }
    throw new Error(`${sid} could not leave HA in 30 s`);
  }

  /** The container's config is on `node`, without a lock, in the cluster directory. */
  private settledOn(vmid: number, node: string): boolean {
    if (!existsSync(path.join(this.site.clusterDir, "nodes", node, "lxc", `${vmid}.conf`))) return false;
    return nodeContainers(node, this.site.roots.get(node)!, this.site.clusterDir).some(
      (c) => c.vmid === vmid && !c.lock,
    );
  }

  private failed(how: ContainerMove["how"], ct: NodeContainer, target: string, output: string): ContainerMove {
    return { how, vmid: ct.vmid, record: ct.record!, from: ct.node, to: target, moved: false, said: lastLine(output) };
  }
}

function lastLine(output: string): string {
  return output.trim().split("\n").slice(-1)[0]?.slice(0, 200) ?? "";
}
