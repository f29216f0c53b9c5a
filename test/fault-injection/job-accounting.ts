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
  /** Successful `pct snapshot` calls per Lockstep snapshot (node/vmid/name). */
  readonly snapshots: Map<string, number>;
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

/** Reads each node's log of `pct` calls and attributes the calls that change a container. */
export function accountJobs(roots: ReadonlyMap<string, string>): JobAccounting {
  const creates = new Map<string, number>();
  const unknownCreates = new Map<string, number>();
  const destroys = new Map<string, number>();
  const snapshots = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  let cleanups = 0;
  let calls = 0;
  for (const [node, root] of roots) {
    const records = readCalls(root);
    const exit = new Map(records.filter((r): r is Extract<CallRecord, { event: "end" }> => r.event === "end").map((r) => [r.id, r.exitCode]));
    const occupant = new Map<number, { record: string; created: boolean; unknown: boolean }>();
    const laterCreate = lastCreatePerRecord(records);
    for (const [index, call] of records.entries()) {
      if (call.event !== "start" || call.vmid === null) continue;
      calls++;
      const ok = exit.get(call.id) === 0;
      const [command, , third] = call.argv;
      if (command === "create") {
        const record = recordOfCreate(call.argv);
        const code = exit.get(call.id);
        // 255 is pct's own refusal ("already exists", a lock timeout): nothing was made.
        const unknown = code === undefined || (code !== 0 && code !== 255);
        if (record && (ok || unknown)) {
          const created = ok || occupant.get(call.vmid)?.created === true;
          occupant.set(call.vmid, { record, created, unknown: !created && (unknown || occupant.get(call.vmid)?.unknown === true) });
        }
        if (record && ok) bump(creates, record);
        if (record && unknown) bump(unknownCreates, record);
      } else if (command === "destroy" && ok) {
        const held = occupant.get(call.vmid);
        const retried = held !== undefined && (laterCreate.get(held.record) ?? -1) > index;
        if (held && (held.created || (held.unknown && !retried))) bump(destroys, held.record);
        else cleanups++;
        occupant.delete(call.vmid);
      } else if (command === "snapshot" && ok && third?.startsWith("lockstep-")) {
        bump(snapshots, `${node}/${call.vmid}/${third}`);
      }
    }
  }
  return { creates, unknownCreates, destroys, cleanups, snapshots, calls };
}

/** The index of each record's last create call in one node's log. */
function lastCreatePerRecord(records: readonly CallRecord[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const [index, call] of records.entries()) {
    if (call.event !== "start" || call.argv[0] !== "create") continue;
    const record = recordOfCreate(call.argv);
    if (record) last.set(record, index);
  }
  return last;
}
