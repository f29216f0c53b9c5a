import test from "ava";
import { LockstepError } from "@lockstep/shared";
import { OperationAdmission } from "../../src/grpc/operation-admission.js";

test("operations beyond the limit are refused with RESOURCE_EXHAUSTED naming the node and the setting", (t) => {
  const admission = new OperationAdmission("pve1", 2);
  admission.enter();
  admission.enter();
  const err = t.throws(() => admission.enter(), { instanceOf: LockstepError });
  t.is(err?.code, "RESOURCE_EXHAUSTED");
  t.is(
    err?.message,
    "node pve1 is already running 2 operations (maxConcurrentOperations); retry later with the same request ID",
  );
});

test("a released slot admits the next operation, and releasing twice frees only one slot", (t) => {
  const admission = new OperationAdmission("pve1", 1);
  const release = admission.enter();
  release();
  release();
  t.is(admission.inUse, 0);
  admission.enter();
  t.throws(() => admission.enter(), { message: /already running 1 operations/ });
});

test("while draining every new operation is refused as UNAVAILABLE", (t) => {
  const admission = new OperationAdmission("pve1", 10);
  admission.drain();
  const err = t.throws(() => admission.enter(), { instanceOf: LockstepError });
  t.is(err?.code, "UNAVAILABLE");
});
