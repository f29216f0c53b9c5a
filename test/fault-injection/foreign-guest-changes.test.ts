import test from "ava";
import type { CallRecord } from "@lockstep/sim";
import type { Bystander } from "./bystanders.js";
import { foreignGuestChanges } from "./foreign-guest-changes.js";

const MADE = "arch: amd64\nhostname: theirs-0\nmemory: 512\nostype: debian\n";
const LEFT_LOCKED = "arch: amd64\nhostname: theirs-0\nlock: backup\nmemory: 512\nostype: debian\n";
const THEIRS: Bystander[] = [{ node: "pve1", vmid: 900, type: "lxc", config: MADE }];
// pve-manager PVE/API2/VZDump.pm vzdump: the task's id is the VMID for one local guest, else empty.
const SEVERAL_GUESTS = "UPID:pve1:000007D0:005962C5:6B111EB3:vzdump::root@pam:";
const GUEST_901 = "UPID:pve1:000007D1:005962C6:6B111EB4:vzdump:901:root@pam:";

const backupTask = (upid: string): CallRecord => ({ event: "task-start", upid, workerPid: 2000, at: 100 });
const agentCall = (...argv: string[]): CallRecord => ({
  event: "start",
  id: "c1",
  pid: 3000,
  argv,
  vmid: Number(argv[1]),
  at: 200,
});
const onPve1 = (...log: CallRecord[]): Map<string, CallRecord[]> => new Map([["pve1", log]]);

test("a foreign guest's config as it was made, read by the agent, is no violation", (t) => {
  const result = foreignGuestChanges(onPve1(agentCall("config", "900")), THEIRS, () => MADE);
  t.deepEqual(result, { agentCalls: 1, violations: [] });
});

test("a changing pct call the agent ran on a foreign guest is a violation", (t) => {
  const result = foreignGuestChanges(onPve1(agentCall("unlock", "900")), THEIRS, () => MADE);
  t.deepEqual(result.violations, ["pve1/900: the agent ran 'pct unlock 900' on someone else's guest"]);
});

test("a backup lock a vzdump task of several guests left on a foreign guest is Proxmox's doing", (t) => {
  const result = foreignGuestChanges(onPve1(backupTask(SEVERAL_GUESTS)), THEIRS, () => LEFT_LOCKED);
  t.deepEqual(result.violations, []);
});

test("a backup lock on a foreign guest that no vzdump task of it ran for is a violation", (t) => {
  const result = foreignGuestChanges(onPve1(backupTask(GUEST_901)), THEIRS, () => LEFT_LOCKED);
  t.deepEqual(result.violations, ["pve1/900 (lxc): its config changed or vanished"]);
});

test("a backup lock left on a foreign guest excuses no other change to its config", (t) => {
  const changed = LEFT_LOCKED.replace("memory: 512", "memory: 1024");
  const result = foreignGuestChanges(onPve1(backupTask(SEVERAL_GUESTS)), THEIRS, () => changed);
  t.is(result.violations.length, 1);
});

test("any lock other than a backup's on a foreign guest is a violation", (t) => {
  const mounted = LEFT_LOCKED.replace("lock: backup", "lock: mounted");
  const result = foreignGuestChanges(onPve1(backupTask(SEVERAL_GUESTS)), THEIRS, () => mounted);
  t.is(result.violations.length, 1);
});

test("a vanished foreign guest is a violation", (t) => {
  const result = foreignGuestChanges(onPve1(), THEIRS, () => "");
  t.deepEqual(result.violations, ["pve1/900 (lxc): its config changed or vanished"]);
});
