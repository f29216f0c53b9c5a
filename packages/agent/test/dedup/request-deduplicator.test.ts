import test from "ava";
import { LockstepError, ManualClock } from "@lockstep/shared";
import {
  CommandFailedError,
  FailedPreconditionError,
  LockHeldError,
  NotFoundError,
  NotRunningError,
} from "../../src/errors.js";
import {
  fingerprintOf,
  RequestDeduplicator,
  toOperationRecord,
  type RequestStoreOptions,
} from "../../src/dedup/index.js";
import type { Deduplicator, OperationLookup } from "../../src/grpc/ports.js";
import { openStore, tempDir } from "./temp-store.js";

const create = (params: Record<string, unknown> = { vmid: 101, hostname: "web-1" }) => ({
  requestId: "req-create-0001",
  method: "CreateContainer",
  vmid: 101,
  params,
});

async function dedupOn(
  t: Parameters<typeof openStore>[0],
  dir = tempDir(t),
  options: Partial<RequestStoreOptions> = {},
) {
  const store = await openStore(t, dir, options);
  return { store, dedup: new RequestDeduplicator(store, store.logger) };
}

/** An execution that counts its runs and finishes when told to. */
function gate<T>(value: T) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const counter = { runs: 0 };
  const execute = async (): Promise<T> => {
    counter.runs += 1;
    await opened;
    return value;
  };
  return { execute, open, counter };
}

test("50 concurrent runs with one ID execute once; the executing caller gets replayed=false and the 49 others replayed=true", async (t) => {
  const { dedup } = await dedupOn(t);
  const { execute, open, counter } = gate({ vmid: 101 });
  const runs = Array.from({ length: 50 }, () => dedup.run(create(), execute));
  open();
  const results = await Promise.all(runs);
  t.is(counter.runs, 1);
  t.true(results.every((r) => r.value.vmid === 101));
  t.is(results.filter((r) => !r.replayed).length, 1);
  t.is(results.filter((r) => r.replayed).length, 49);
});

test("a finished ID replays its stored value without executing", async (t) => {
  const { dedup } = await dedupOn(t);
  await dedup.run(create(), async () => ({ vmid: 101, alreadyExisted: false }));
  const again = await dedup.run(create(), async () => t.fail("executed again"));
  t.deepEqual(again, { value: { vmid: 101, alreadyExisted: false }, replayed: true });
});

test("the same ID with a different key order in the params is the same request", async (t) => {
  const { dedup } = await dedupOn(t);
  await dedup.run(create({ vmid: 101, hostname: "web-1" }), async () => "done");
  t.deepEqual(await dedup.run(create({ hostname: "web-1", vmid: 101 }), async () => "again"), {
    value: "done",
    replayed: true,
  });
});

test("the same ID with different params fails with REQUEST_ID_REUSED", async (t) => {
  const { dedup } = await dedupOn(t);
  await dedup.run(create(), async () => "done");
  const err = await t.throwsAsync(
    dedup.run(create({ vmid: 101, hostname: "web-2" }), async () => "other"),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "REQUEST_ID_REUSED");
});

test("the same ID with different params while the first is running fails with REQUEST_ID_REUSED", async (t) => {
  const { dedup } = await dedupOn(t);
  const { execute, open } = gate("done");
  const first = dedup.run(create(), execute);
  const err = await t.throwsAsync(
    dedup.run(create({ vmid: 101, hostname: "web-2" }), async () => "other"),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "REQUEST_ID_REUSED");
  open();
  t.deepEqual(await first, { value: "done", replayed: false });
});

test("the same ID for another method fails with REQUEST_ID_REUSED", async (t) => {
  const { dedup } = await dedupOn(t);
  await dedup.run(create(), async () => "done");
  await t.throwsAsync(
    dedup.run({ ...create(), method: "DestroyContainer" }, async () => "gone"),
    { message: /already used for CreateContainer/ },
  );
});

test("a deterministic failure is stored and replayed as a LockstepError with the same code, message and metadata", async (t) => {
  const { dedup } = await dedupOn(t);
  let runs = 0;
  const fail = async (): Promise<never> => {
    runs += 1;
    throw new CommandFailedError("pct create failed", 2, "storage full", { vmid: "101" });
  };
  await t.throwsAsync(dedup.run(create(), fail), { instanceOf: CommandFailedError });
  const replayed = await t.throwsAsync(dedup.run(create(), fail), {
    instanceOf: LockstepError,
    message: "pct create failed",
  });
  t.is(replayed?.code, "COMMAND_FAILED");
  t.deepEqual(replayed?.metadata, { exit_code: "2", vmid: "101" });
  t.is(runs, 1);
});

test("a transient failure is recorded, but a retry with the same ID executes again", async (t) => {
  const { dedup } = await dedupOn(t);
  await t.throwsAsync(
    dedup.run(create(), async () => Promise.reject(new LockHeldError(101, "held by pid 42"))),
    { instanceOf: LockHeldError },
  );
  t.like(dedup.get("req-create-0001"), { status: "failed", error: { code: "LOCK_HELD" } });
  t.deepEqual(await dedup.run(create(), async () => "done"), { value: "done", replayed: false });
  t.like(dedup.get("req-create-0001"), { status: "succeeded", value: "done" });
});

test("a container not found is recorded, but a retry with the same ID looks again: in a cluster it may be back", async (t) => {
  const { dedup } = await dedupOn(t);
  await t.throwsAsync(
    dedup.run(create(), async () => Promise.reject(new NotFoundError("CT 101 does not exist on this node"))),
    { instanceOf: NotFoundError },
  );
  t.like(dedup.get("req-create-0001"), { status: "failed", error: { code: "NOT_FOUND" } });
  t.deepEqual(await dedup.run(create(), async () => "done"), { value: "done", replayed: false });
});

test("a container found not running is recorded, but a retry with the same ID looks again: HA or a job may have started it", async (t) => {
  const { dedup } = await dedupOn(t);
  await t.throwsAsync(
    dedup.run(create(), async () => Promise.reject(new NotRunningError(101))),
    { instanceOf: NotRunningError },
  );
  t.like(dedup.get("req-create-0001"), {
    status: "failed",
    error: { code: "FAILED_PRECONDITION", metadata: { reason: "not-running" } },
  });
  t.deepEqual(await dedup.run(create(), async () => "done"), { value: "done", replayed: false });
});

test("any other failed precondition is replayed", async (t) => {
  const { dedup } = await dedupOn(t);
  let runs = 0;
  const fail = async (): Promise<never> => {
    runs += 1;
    throw new FailedPreconditionError("CT 101: protection mode enabled");
  };
  await t.throwsAsync(dedup.run(create(), fail));
  await t.throwsAsync(dedup.run(create(), fail), { message: "CT 101: protection mode enabled" });
  t.is(runs, 1);
});

test("an unexpected error is recorded as INTERNAL without its internals and rethrown as is", async (t) => {
  const { dedup } = await dedupOn(t);
  const bug = new Error("ENOENT /etc/pve/secret-path");
  t.is(await t.throwsAsync(dedup.run(create(), async () => Promise.reject(bug))), bug);
  t.like(dedup.get("req-create-0001"), {
    status: "failed",
    error: { code: "INTERNAL", message: "internal error; see the agent's log" },
  });
});

test("duplicates that joined a failing execution get its error and nothing runs twice", async (t) => {
  const { dedup } = await dedupOn(t);
  let runs = 0;
  const fail = async (): Promise<never> => {
    runs += 1;
    await new Promise((resolve) => setTimeout(resolve, 10));
    throw new NotFoundError("no container 101");
  };
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => dedup.run(create(), fail)));
  t.true(results.every((r) => r.status === "rejected" && r.reason instanceof NotFoundError));
  t.is(runs, 1);
});

test("a record running at a crash becomes interrupted on reopen and a retry with its ID executes once", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  // begin without finish, then the lifetime ends: what a crash mid-operation leaves on disk.
  await first.begin({
    requestId: "req-create-0001",
    method: "CreateContainer",
    vmid: 101,
    fingerprint: fingerprintOf(create().params),
  });
  await first.close();

  const { dedup } = await dedupOn(t, dir);
  t.deepEqual(
    dedup.interruptedAtStart.map((r) => [r.requestId, r.status, r.error?.code]),
    [["req-create-0001", "interrupted", "INTERRUPTED"]],
  );
  let runs = 0;
  const execute = async () => {
    runs += 1;
    return "converged";
  };
  t.deepEqual(await dedup.run(create(), execute), { value: "converged", replayed: false });
  t.deepEqual(await dedup.run(create(), execute), { value: "converged", replayed: true });
  t.is(runs, 1);
});

test("an invalid request ID is refused with INVALID_ARGUMENT before anything is recorded", async (t) => {
  const { dedup, store } = await dedupOn(t);
  const err = await t.throwsAsync(
    dedup.run({ ...create(), requestId: "short" }, async () => t.fail("executed")),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "INVALID_ARGUMENT");
  t.is(store.stats.records, 0);
});

test("an expired ID runs again as a new request", async (t) => {
  const clock = new ManualClock();
  const { dedup } = await dedupOn(t, undefined, { clock, retentionMs: 1_000 });
  await dedup.run(create(), async () => "first");
  clock.advance(1_000);
  t.deepEqual(await dedup.run(create({ vmid: 101, hostname: "other" }), async () => "second"), {
    value: "second",
    replayed: false,
  });
});

test("get returns the record for GetOperation, mapped to the contract by toOperationRecord", async (t) => {
  const { dedup } = await dedupOn(t);
  await t.throwsAsync(dedup.run(create(), async () => Promise.reject(new NotFoundError("gone", { vmid: "101" }))));
  const record = dedup.get("req-create-0001");
  t.truthy(record);
  const proto = toOperationRecord(record!);
  t.like(proto, {
    requestId: "req-create-0001",
    method: "CreateContainer",
    vmid: 101,
    status: 3,
    error: { reason: 3, message: "gone", metadata: { vmid: "101" } },
  });
  t.regex(proto.fingerprint, /^[0-9a-f]{64}$/);
});

test("abortRunning aborts the signal handed to a running execution, and idle waits for it to settle", async (t) => {
  const { dedup } = await dedupOn(t);
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const run = dedup.run(create(), (signal) => {
    started();
    return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason as Error)));
  });
  await running;
  t.is(dedup.inFlightCount, 1);
  dedup.abortRunning();
  await t.throwsAsync(run, { instanceOf: LockstepError, message: /shutting down/ });
  await dedup.idle();
  t.is(dedup.inFlightCount, 0);
  t.like(dedup.get("req-create-0001"), { status: "failed", error: { code: "UNAVAILABLE" } });
});

test("an execution aborted before it started never runs", async (t) => {
  const { dedup } = await dedupOn(t);
  const run = dedup.run(create(), async () => t.fail("executed"));
  dedup.abortRunning();
  await t.throwsAsync(run, { message: /shutting down/ });
});

test("the deduplicator and toOperationRecord fit the gRPC layer's ports", async (t) => {
  const { dedup } = await dedupOn(t);
  // Compile-time checks: these assignments fail `tsc` when an interface drifts.
  const port: Deduplicator = dedup;
  const lookup: OperationLookup = {
    get: (requestId) => {
      const record = dedup.get(requestId);
      return record && toOperationRecord(record);
    },
  };
  const { value } = await port.run(create(), async () => "through the port");
  t.is(value, "through the port");
  t.like(lookup.get("req-create-0001"), { status: 2 });
});

test("a refusal before start records nothing, so the same ID runs when retried", async (t) => {
  const { dedup } = await dedupOn(t);
  await t.throwsAsync(
    dedup.run(
      create(),
      async () => t.fail("executed"),
      () => {
        throw new LockstepError("RESOURCE_EXHAUSTED", "busy");
      },
    ),
    { message: "busy" },
  );
  t.is(dedup.get("req-create-0001"), undefined);
  t.deepEqual(await dedup.run(create(), async () => "done"), { value: "done", replayed: false });
});

test("a replay never passes through the check before start", async (t) => {
  const { dedup } = await dedupOn(t);
  await dedup.run(create(), async () => "done");
  t.deepEqual(
    await dedup.run(
      create(),
      async () => "again",
      () => t.fail("checked"),
    ),
    { value: "done", replayed: true },
  );
});
