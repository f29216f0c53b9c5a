import test from "ava";
import type { CallRecord } from "@lockstep/sim";
import type { Bystander } from "./bystanders.js";
import { agentUnlocks } from "./stale-lock-clears.js";

// pve-manager PVE/API2/VZDump.pm vzdump: the task's id is the VMID for one local guest, else empty.
const SEVERAL_GUESTS = "UPID:pve1:000007D0:005962C5:6B111EB3:vzdump::root@pam:";
const GUEST_101 = "UPID:pve1:000007D1:005962C6:6B111EB4:vzdump:101:root@pam:";

const backupTask = (upid: string, from: number, to?: number): CallRecord[] => [
  { event: "task-start", upid, workerPid: 2000, at: from },
  ...(to === undefined
    ? []
    : [{ event: "task-end" as const, upid, workerPid: 2000, status: "OK", exitCode: 0, signal: null, at: to }]),
];
const unlock = (vmid: number, lock: string, at: number, caller?: string): CallRecord => ({
  event: "unlocked",
  pid: 3000,
  vmid,
  lock,
  at,
  ...(caller ? { caller } : {}),
});
const onPve1 = (...log: CallRecord[][]): Map<string, CallRecord[]> => new Map([["pve1", log.flat()]]);
const NO_BYSTANDERS: Bystander[] = [];

test("a backup lock cleared while a several-guest vzdump task runs is a violation", (t) => {
  const result = agentUnlocks(
    onPve1(backupTask(SEVERAL_GUESTS, 100, 900), [unlock(101, "backup", 500)]),
    NO_BYSTANDERS,
  );
  t.deepEqual(result.violations, ["pve1/101: the agent unlocked a live 'backup' lock"]);
});

test("a backup lock cleared while a vzdump task of that guest runs is a violation", (t) => {
  const result = agentUnlocks(onPve1(backupTask(GUEST_101, 100, 900), [unlock(101, "backup", 500)]), NO_BYSTANDERS);
  t.is(result.violations.length, 1);
});

test("a vzdump task whose end was never recorded counts as running", (t) => {
  const result = agentUnlocks(onPve1(backupTask(SEVERAL_GUESTS, 100), [unlock(101, "backup", 5_000)]), NO_BYSTANDERS);
  t.is(result.violations.length, 1);
});

test("a backup lock its vzdump task left behind when it ended may be cleared", (t) => {
  const result = agentUnlocks(
    onPve1(backupTask(SEVERAL_GUESTS, 100, 400), [unlock(101, "backup", 500)]),
    NO_BYSTANDERS,
  );
  t.deepEqual(result, { unlocks: 1, violations: [] });
});

test("a vzdump task of another guest does not hold this guest's backup lock", (t) => {
  const result = agentUnlocks(onPve1(backupTask(GUEST_101, 100, 900), [unlock(102, "backup", 500)]), NO_BYSTANDERS);
  t.deepEqual(result.violations, []);
});

test("a mount's or an fstrim's lock is never the agent's to clear", (t) => {
  const result = agentUnlocks(onPve1([unlock(101, "mounted", 500), unlock(102, "fstrim", 600)]), NO_BYSTANDERS);
  t.is(result.violations.length, 2);
});

test("an unlock someone named as its caller is not the agent's", (t) => {
  const result = agentUnlocks(onPve1([unlock(101, "mounted", 500, "operator")]), NO_BYSTANDERS);
  t.deepEqual(result, { unlocks: 0, violations: [] });
});

test("any lock cleared on someone else's guest is a violation", (t) => {
  const theirs: Bystander[] = [{ node: "pve1", vmid: 900, type: "lxc", config: "" }];
  const result = agentUnlocks(onPve1([unlock(900, "create", 500)]), theirs);
  t.deepEqual(result.violations, ["pve1/900: the agent unlocked someone else's guest ('create')"]);
});
