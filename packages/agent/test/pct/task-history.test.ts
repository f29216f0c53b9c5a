// A finished task's outcome as Proxmox records it: the active list and its archive name the
// UPIDs (pve-common src/PVE/RESTEnvironment.pm active_workers: "<UPID> <saved>" while running,
// "<UPID> <saved> <ENDTIME hex> <status>" once finished; finished tasks appended to `index`,
// rotated to `index.1`), and each task's log ends with the line its pct wrote (fork_worker,
// tee_worker), read as pve-common src/PVE/UPID.pm read_status reads it.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { lastTaskOutcome } from "../../src/pct/task-history.js";

const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
const upid = (startS: number, type = "vzcreate", id = "101", pid = 4660) =>
  `UPID:pve1:${hex(pid)}:${hex(99)}:${hex(startS)}:${type}:${id}:root@pam:`;
const T = 1_700_000_000;

/** A task directory: `lists` maps active / index / index.1 to their lines, `logs` each UPID's log. */
function tasksDir(t: TestScope, lists: Record<string, string[]>, logs: Record<string, string>): string {
  const dir = scratchDir(t, "tasks");
  for (const [name, lines] of Object.entries(lists))
    writeFileSync(path.join(dir, name), lines.map((l) => `${l}\n`).join(""));
  for (const [id, text] of Object.entries(logs)) {
    const startS = parseInt(id.split(":")[4]!, 16);
    const sub = path.join(dir, startS.toString(16).toUpperCase().slice(-1));
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, id), text);
  }
  return path.join(dir, "active");
}

test("a task whose log ends with TASK OK succeeded", async (t) => {
  const active = tasksDir(
    t,
    { active: [`${upid(T)} 1 ${hex(T + 5)} OK`] },
    { [upid(T)]: "extracting archive\nTASK OK\n" },
  );
  t.deepEqual(await lastTaskOutcome(active, "vzcreate", "101", T), { upid: upid(T), status: "OK", succeeded: true });
});

test("a task whose log ends with TASK ERROR failed, with its message", async (t) => {
  const active = tasksDir(
    t,
    { active: [`${upid(T)} 1 ${hex(T + 5)} unable to create CT 101 - received interrupt`] },
    { [upid(T)]: "extracting archive\n\nTASK ERROR: unable to create CT 101 - received interrupt\n" },
  );
  t.like(await lastTaskOutcome(active, "vzcreate", "101", T), {
    status: "unable to create CT 101 - received interrupt",
    succeeded: false,
  });
});

test("a task with warnings succeeded, as status_is_error says", async (t) => {
  const active = tasksDir(t, { active: [`${upid(T)} 1`] }, { [upid(T)]: "x\n\nTASK WARNINGS: 2\n" });
  t.like(await lastTaskOutcome(active, "vzcreate", "101", T), { status: "WARNINGS: 2", succeeded: true });
});

test("a task whose log has no end line (its pct and worker died) is an unexpected status, not a success", async (t) => {
  const active = tasksDir(
    t,
    { active: [`${upid(T)} 0`] },
    { [upid(T)]: "extracting archive\nDetected container architecture: amd64\n" },
  );
  t.like(await lastTaskOutcome(active, "vzcreate", "101", T), { status: "unexpected status", succeeded: false });
});

test("the newest matching task counts, found in the archive too", async (t) => {
  const active = tasksDir(
    t,
    {
      active: [`${upid(T + 20, "vzstart")} 1 ${hex(T + 21)} OK`],
      index: [`${upid(T)} ${hex(T + 5)} OK`, `${upid(T + 10)} ${hex(T + 15)} broken`],
      "index.1": [`${upid(T - 100)} ${hex(T - 90)} OK`],
    },
    { [upid(T)]: "TASK OK\n", [upid(T + 10)]: "TASK ERROR: broken\n", [upid(T - 100)]: "TASK OK\n" },
  );
  t.like(await lastTaskOutcome(active, "vzcreate", "101", T - 200), { upid: upid(T + 10), succeeded: false });
});

test("a task started before the given time, of another type or on another VMID is not the one asked for", async (t) => {
  const active = tasksDir(
    t,
    {
      active: [
        `${upid(T - 1)} 1 ${hex(T)} OK`,
        `${upid(T, "vzdestroy")} 1 ${hex(T)} OK`,
        `${upid(T, "vzcreate", "102")} 1 ${hex(T)} OK`,
      ],
    },
    {},
  );
  t.is(await lastTaskOutcome(active, "vzcreate", "101", T), null);
});

test("a node with no task history yet has no outcome", async (t) => {
  t.is(await lastTaskOutcome(path.join(scratchDir(t, "tasks"), "active"), "vzcreate", "101", T), null);
});
