import test from "ava";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { accountJobs } from "./job-accounting.js";

const RECORD = "3dc0d620-90ad-41e1-bee9-6f336a6df79f";
const CREATE = ["create", "10002", "local:vztmpl/debian-12.tar.zst", "--tags", `lockstep-${RECORD}`];

/** A node whose simulator logged these calls: [argv, exit code, or null when it never ended]. */
function nodeWithCalls(t: { teardown(fn: () => void): void }, calls: readonly [string[], number | null][]): Map<string, string> {
  const root = mkdtempSync(path.join(os.tmpdir(), "job-accounting-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const lines = calls.flatMap(([argv, exitCode], i) => {
    const start = { event: "start", id: `c${i}`, pid: 1000 + i, argv, vmid: Number(argv[1]), at: i * 10 };
    return exitCode === null ? [start] : [start, { event: "end", id: `c${i}`, exitCode, durationMs: 1, at: i * 10 + 5 }];
  });
  mkdirSync(path.join(root, "var/lib/lockstep-sim"), { recursive: true });
  writeFileSync(path.join(root, "var/lib/lockstep-sim/calls.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  return new Map([["pve1", root]]);
}

test("a half-made create removed by its retry is a cleanup, and the delete is the record's one destroy", (t) => {
  const jobs = accountJobs(nodeWithCalls(t, [[CREATE, null], [["destroy", "10002"], 0], [CREATE, 0], [["destroy", "10002", "--force", "1"], 0]]));
  t.deepEqual([jobs.creates.get(RECORD), jobs.unknownCreates.get(RECORD), jobs.destroys.get(RECORD), jobs.cleanups], [1, 1, 1, 1]);
});

test("a container made, destroyed, made again and destroyed again counts two destroys", (t) => {
  const jobs = accountJobs(nodeWithCalls(t, [[CREATE, 0], [["destroy", "10002"], 0], [CREATE, 0], [["destroy", "10002"], 0]]));
  t.deepEqual([jobs.creates.get(RECORD), jobs.destroys.get(RECORD)], [2, 2]);
});

test("a create whose outcome nobody saw, destroyed with no retry after it, counts as the record's destroy", (t) => {
  const jobs = accountJobs(nodeWithCalls(t, [[CREATE, 137], [["destroy", "10002", "--force", "1"], 0]]));
  t.deepEqual([jobs.unknownCreates.get(RECORD), jobs.destroys.get(RECORD), jobs.cleanups], [1, 1, 0]);
});

test("a create pct refused makes nothing, so the destroy after it is a cleanup", (t) => {
  const jobs = accountJobs(nodeWithCalls(t, [[CREATE, 255], [["destroy", "10002"], 0]]));
  t.deepEqual([jobs.creates.get(RECORD), jobs.destroys.get(RECORD), jobs.cleanups], [undefined, undefined, 1]);
});
