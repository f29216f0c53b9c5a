import test from "ava";
import { parsePctList } from "../../src/pct/parse-list.js";

const row = (vmid: string, status: string, lock: string, name: string): string =>
  `${vmid.padEnd(10)} ${status.padEnd(10)} ${lock.padEnd(12)} ${name.padEnd(20)}\n`;

test("no output at all means no containers", (t) => {
  t.deepEqual(parsePctList(""), []);
});

test("rows are parsed with their status, lock and name", (t) => {
  const out =
    row("VMID", "Status", "Lock", "Name") +
    row("101", "running", "", "web-1") +
    row("102", "stopped", "create", "CT102");
  t.deepEqual(parsePctList(out), [
    { vmid: 101, status: "running", lock: "", name: "web-1" },
    { vmid: 102, status: "stopped", lock: "create", name: "CT102" },
  ]);
});

test("a lock longer than its column pushes the name right and is still read", (t) => {
  const out = row("VMID", "Status", "Lock", "Name") + row("103", "stopped", "snapshot-delete", "db-1");
  t.deepEqual(parsePctList(out), [{ vmid: 103, status: "stopped", lock: "snapshot-delete", name: "db-1" }]);
});

test("an unexpected line is an error, not a silently missing container", (t) => {
  t.throws(() => parsePctList(row("VMID", "Status", "Lock", "Name") + "garbage here\n"), {
    message: /unexpected line/,
  });
});
