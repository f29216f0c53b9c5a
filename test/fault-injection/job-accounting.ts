import { readCalls, type CallRecord } from "@lockstep/sim";

/** What the simulators' own call logs say each record's jobs did on the nodes. */
export interface JobAccounting {
  /** Successful `pct create` calls per record ID (from the ownership tag it was created with). */
  readonly creates: Map<string, number>;
  /**
   * Create calls per record whose outcome nobody saw: killed midway (no end line) or ended
   * by a crash. Such a call may have made the container, and a retry then finds it.
   */
  readonly unknownCreates: Map<string, number>;
  /** Successful `pct destroy` calls of a created container, per record ID. */
  readonly destroys: Map<string, number>;
  /**
   * Successful destroys of what a create left behind: one refused before it made anything, or
   * one whose outcome nobody saw when a later create call of the same record follows (the
   * retry removed the half-made container and made it again).
   */
  readonly cleanups: number;
  /** Successful `pct snapshot` calls per Lockstep snapshot (vmid/name: a VMID is the cluster's). */
  readonly snapshots: Map<string, number>;
  /** Each successful destroy the agent ran of a created container (or one whose create nobody saw end). */
  readonly destroyed: { readonly record: string; readonly node: string; readonly vmid: number }[];
  readonly calls: number;
}

const TAG = /(?:^|;)lockstep-([0-9a-f-]{36})(?:;|$)/;
// The agent's pct create carries the record's ownership marker in its description (the tag is
// set with pct set once the create finished): packages/agent/src/containers/create-container.ts.
const MARKER = /(?:^|\n)lockstep-owner=lockstep-([0-9a-f-]{36})(?:\n|$)/;

/** The record a create call was made for: its ownership marker, or its ownership tag. */
function recordOfCreate(argv: readonly string[]): string | undefined {
  const option = (name: string) => (argv.includes(name) ? (argv[argv.indexOf(name) + 1] ?? "") : "");
  return MARKER.exec(option("--description"))?.[1] ?? TAG.exec(option("--tags"))?.[1];
}

type StartCall = Extract<CallRecord, { event: "start" }>;

/**
 * Reads each node's log of `pct` calls and attributes the agent's calls that change a
 * container. The logs are read as one cluster-wide timeline (by start time), since a VMID is
 * the cluster's and a container migrated by Proxmox keeps its VMID on its new node. Calls run
 * by an operator or by Proxmox itself (migration, HA: LOCKSTEP_SIM_CALLER) are not Lockstep's.
 */
export function accountJobs(roots: ReadonlyMap<string, string>): JobAccounting {
  const creates = new Map<string, number>();
  const unknownCreates = new Map<string, number>();
  const destroys = new Map<string, number>();
  const snapshots = new Map<string, number>();
  const destroyed: JobAccounting["destroyed"] = [];
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  let cleanups = 0;
  const exit = new Map<string, number>();
  const timeline: { node: string; call: StartCall }[] = [];
  for (const [node, root] of roots) {
    for (const r of readCalls(root)) {
      if (r.event === "end") exit.set(`${node}/${r.id}`, r.exitCode);
      else if (r.event === "start" && r.vmid !== null && r.caller === undefined) timeline.push({ node, call: r });
    }
  }
  // Stable: calls of one node keep their log order when their start times are equal.
  timeline.sort((a, b) => a.call.at - b.call.at);
  const occupant = new Map<number, { record: string; created: boolean; unknown: boolean }>();
  const laterCreate = lastCreatePerRecord(timeline.map((t) => t.call));
  for (const [index, { node, call }] of timeline.entries()) {
    const vmid = call.vmid!;
    const code = exit.get(`${node}/${call.id}`);
    const ok = code === 0;
    const [command, , third] = call.argv;
    if (command === "create") {
      const record = recordOfCreate(call.argv);
      // 255 is pct's own refusal ("already exists", a lock timeout): nothing was made.
      const unknown = code === undefined || (code !== 0 && code !== 255);
      if (record && (ok || unknown)) {
        const created = ok || occupant.get(vmid)?.created === true;
        occupant.set(vmid, { record, created, unknown: !created && (unknown || occupant.get(vmid)?.unknown === true) });
      }
      if (record && ok) bump(creates, record);
      if (record && unknown) bump(unknownCreates, record);
    } else if (command === "destroy" && ok) {
      const held = occupant.get(vmid);
      const retried = held !== undefined && (laterCreate.get(held.record) ?? -1) > index;
      if (held && (held.created || (held.unknown && !retried))) {
        bump(destroys, held.record);
        destroyed.push({ record: held.record, node, vmid });
      } else cleanups++;
      occupant.delete(vmid);
    } else if (command === "snapshot" && ok && third?.startsWith("lockstep-")) {
      bump(snapshots, `${vmid}/${third}`);
    }
  }
  return { creates, unknownCreates, destroys, cleanups, snapshots, destroyed, calls: timeline.length };
}

/** The index of each record's last create call in the timeline. */
function lastCreatePerRecord(calls: readonly StartCall[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const [index, call] of calls.entries()) {
    if (call.argv[0] !== "create") continue;
    const record = recordOfCreate(call.argv);
    if (record) last.set(record, index);
  }
  return last;
}
