import test from "ava";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { accountJobs } from "./job-accounting.js";

const RECORD = "3dc0d620-90ad-41e1-bee9-6f336a6df79f";
const CREATE = ["create", "10002", "local:vztmpl/debian-12.tar.zst", "--tags", `lockstep-${RECORD}`];

/** One logged call: argv, exit code (null when it never ended), start time, and who ran it when not the agent. */
type Call = readonly [string[], number | null, number?, string?];

/** Nodes whose simulators logged these calls (start times default to the call's place in its list). */
function nodesWithCalls(t: TestScope, nodes: Record<string, readonly Call[]>): Map<string, string> {
  return new Map(
    Object.entries(nodes).map(([node, calls]) => {
      const root = scratchDir(t, "job-accounting");
      const lines = calls.flatMap(([argv, exitCode, time, caller], i) => {
        const at = time ?? i * 10;
        const start = {
          event: "start",
          id: `c${i}`,
          pid: 1000 + i,
          argv,
          vmid: Number(argv[1]),
          at,
          ...(caller ? { caller } : {}),
        };
        return exitCode === null
          ? [start]
          : [start, { event: "end", id: `c${i}`, exitCode, durationMs: 1, at: at + 5 }];
      });
      mkdirSync(path.join(root, "var/lib/lockstep-sim"), { recursive: true });
      writeFileSync(
        path.join(root, "var/lib/lockstep-sim/calls.jsonl"),
        lines.map((l) => JSON.stringify(l)).join("\n") + "\n",
      );
      return [node, root];
    }),
  );
}

/** A node whose simulator logged these calls, the agent's, in this order. */
function nodeWithCalls(t: TestScope, calls: readonly [string[], number | null][]): Map<string, string> {
  return nodesWithCalls(t, { pve1: calls });
}

test("a half-made create removed by its retry is a cleanup, and the delete is the record's one destroy", (t) => {
  const jobs = accountJobs(
    nodeWithCalls(t, [
      [CREATE, null],
      [["destroy", "10002"], 0],
      [CREATE, 0],
      [["destroy", "10002", "--force", "1"], 0],
    ]),
  );
  t.deepEqual(
    [jobs.creates.get(RECORD), jobs.unknownCreates.get(RECORD), jobs.destroys.get(RECORD), jobs.cleanups],
    [1, 1, 1, 1],
  );
});

test("a container made, destroyed, made again and destroyed again counts two destroys", (t) => {
  const jobs = accountJobs(
    nodeWithCalls(t, [
      [CREATE, 0],
      [["destroy", "10002"], 0],
      [CREATE, 0],
      [["destroy", "10002"], 0],
    ]),
  );
  t.deepEqual([jobs.creates.get(RECORD), jobs.destroys.get(RECORD)], [2, 2]);
});

test("a create whose outcome nobody saw, destroyed with no retry after it, counts as the record's destroy", (t) => {
  const jobs = accountJobs(
    nodeWithCalls(t, [
      [CREATE, 137],
      [["destroy", "10002", "--force", "1"], 0],
    ]),
  );
  t.deepEqual([jobs.unknownCreates.get(RECORD), jobs.destroys.get(RECORD), jobs.cleanups], [1, 1, 0]);
});

test("a create pct refused makes nothing, so the destroy after it is a cleanup", (t) => {
  const jobs = accountJobs(
    nodeWithCalls(t, [
      [CREATE, 255],
      [["destroy", "10002"], 0],
    ]),
  );
  t.deepEqual([jobs.creates.get(RECORD), jobs.destroys.get(RECORD), jobs.cleanups], [undefined, undefined, 1]);
});

test("a container created on one node, migrated by Proxmox and deleted on the other counts one create and one destroy", (t) => {
  const jobs = accountJobs(
    nodesWithCalls(t, {
      pve1: [
        [CREATE, 0, 0],
        [["migrate", "10002", "pve2", "--restart"], 0, 10, "operator"],
      ],
      pve2: [
        [["unlock", "10002"], 0, 20, "proxmox-migrate"],
        [["start", "10002"], 0, 30, "proxmox-migrate"],
        [["destroy", "10002", "--force", "1"], 0, 40],
      ],
    }),
  );
  t.deepEqual(
    [jobs.creates.get(RECORD), jobs.destroys.get(RECORD), jobs.cleanups, jobs.destroyed],
    [1, 1, 0, [{ record: RECORD, node: "pve2", vmid: 10002 }]],
  );
});

test("pct calls run by an operator or by Proxmox's HA stack are not counted as Lockstep's", (t) => {
  const jobs = accountJobs(
    nodesWithCalls(t, {
      pve1: [
        [CREATE, 0, 0, "operator"],
        [["destroy", "10002"], 0, 10, "proxmox-ha"],
      ],
    }),
  );
  t.deepEqual(
    [jobs.creates.get(RECORD), jobs.destroys.get(RECORD), jobs.cleanups, jobs.calls],
    [undefined, undefined, 0, 0],
  );
});
