import test from "ava";
import { classifyDrift, type NodeContainerView, type RecordView } from "../../src/reconcile/classify-drift.js";

const A = "aaaaaaaa-0000-4000-8000-000000000001";
const B = "bbbbbbbb-0000-4000-8000-000000000002";

const ct = (vmid: number, owner: string | null, extra: Partial<NodeContainerView> = {}): NodeContainerView => ({
  vmid,
  running: true,
  lock: "",
  staleLock: null,
  tags: owner ? ["lockstep", `lockstep-${owner}`] : [],
  description: "",
  ...extra,
});
const record = (id: string, vmid: number, extra: Partial<RecordView> = {}): [string, RecordView] => [
  id,
  { id, node: "pve1", vmid, status: "running", busy: false, ...extra },
];
const kinds = (onNode: NodeContainerView[], records: [string, RecordView][]) =>
  classifyDrift("pve1", onNode, new Map(records)).findings.map((f) => `${f.kind} ${f.vmid}`);

test("a record's own running container is in sync", (t) => {
  t.deepEqual(kinds([ct(100, A)], [record(A, 100)]), []);
});

test("a recorded container absent from its node is missing", (t) => {
  t.deepEqual(kinds([], [record(A, 100)]), ["missing 100"]);
});

test("a record busy with a job is not judged missing", (t) => {
  t.deepEqual(kinds([], [record(A, 100, { busy: true })]), []);
});

test("a record on another node is not judged missing here", (t) => {
  t.deepEqual(kinds([], [record(A, 100, { node: "pve2" })]), []);
});

test("a container with Lockstep's marker and no live record is an orphan", (t) => {
  t.deepEqual(kinds([ct(100, A)], []), ["orphan 100"]);
});

test("a container without a marker is foreign", (t) => {
  t.deepEqual(kinds([ct(100, null)], []), ["foreign 100"]);
});

test("a recorded running container found stopped is a state mismatch, and its observed state is reported", (t) => {
  const result = classifyDrift("pve1", [ct(100, A, { running: false })], new Map([record(A, 100)]));
  t.deepEqual(
    result.findings.map((f) => f.kind),
    ["state-mismatch"],
  );
  t.deepEqual(result.observed, [{ containerId: A, state: "stopped" }]);
});

test("two containers carrying one record's marker are a duplicate, reported on the one that is not the record's", (t) => {
  t.deepEqual(kinds([ct(100, A), ct(101, A)], [record(A, 100)]), ["duplicate 101"]);
});

test("a stale lock is reported with the container it is on", (t) => {
  t.deepEqual(kinds([ct(100, A, { staleLock: "snapshot" })], [record(A, 100)]), ["stale-lock 100"]);
});

test("a clone's own description marker wins over the tags it copied from its source", (t) => {
  const clone = ct(101, null, { tags: ["lockstep", `lockstep-${A}`], description: `lockstep-owner=lockstep-${B}` });
  t.deepEqual(kinds([ct(100, A), clone], [record(A, 100), record(B, 101)]), []);
});

test("a container still being created is not judged", (t) => {
  t.deepEqual(kinds([ct(100, null, { lock: "create" })], []), []);
});

test("a crashed create's placeholder with a stale lock is reported as foreign, its lock left to its owner", (t) => {
  const { findings } = classifyDrift("pve1", [ct(100, null, { lock: "create", staleLock: "create" })], new Map());
  t.deepEqual(
    findings.map((f) => `${f.kind} ${f.vmid}`),
    ["foreign 100"],
  );
  t.regex(findings[0]!.detail, /stale lock 'create' is left to its owner/);
});

test("an unmarked container at the VMID of a record busy with a job is its work in progress", (t) => {
  t.deepEqual(kinds([ct(100, null)], [record(A, 100, { busy: true })]), []);
});
