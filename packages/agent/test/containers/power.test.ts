import test from "ava";
import { setPower } from "../../src/containers/power.js";
import { HaRequestPendingError, PowerStateNotReachedError } from "../../src/errors.js";
import { fakeNode, SteppingClock, testOperation } from "./fake-node.js";
import type { TestScope } from "@lockstep/shared";

const status = (s: string) => ({ stdout: `status: ${s}\n` });

/**
 * A node whose CT 101 is stopped until `runningAfterReads` status reads after `pct start`
 * (pve-container src/PVE/API2/LXC/Status.pm vm_start for an HA-managed CT: the task prints
 * `Requesting HA start for CT 101`, runs `ha-manager set ct:101 --state started`, returns).
 */
function haNode(t: TestScope, runningAfterReads: number, clock = new SteppingClock()) {
  let started = false;
  let readsSinceStart = 0;
  return fakeNode(
    t,
    (args) => {
      if (args[0] === "start") {
        started = true;
        return { stdout: "Requesting HA start for CT 101\n" };
      }
      if (args[0] === "status") {
        if (!started) return status("stopped");
        return status(++readsSinceStart > runningAfterReads ? "running" : "stopped");
      }
      return {};
    },
    clock,
  );
}

test("a start that the HA manager completes later waits until the CT runs", async (t) => {
  const node = haNode(t, 3);
  t.deepEqual(await setPower(node.ctx, 101, "running", testOperation("r1"), "lockstep-test"), {
    status: "running",
    changed: true,
  });
});

test("the wait backs off on the injected clock", async (t) => {
  const clock = new SteppingClock();
  await setPower(haNode(t, 4, clock).ctx, 101, "running", testOperation("r1"), "lockstep-test");
  t.deepEqual(clock.sleeps, [250, 500, 1000, 2000]);
});

test("an HA-managed start the HA manager has not acted on within the power timeout is pending, retryable, not failed", async (t) => {
  const clock = new SteppingClock();
  const start = clock.now();
  const node = haNode(t, Number.POSITIVE_INFINITY, clock);
  const err = await t.throwsAsync(setPower(node.ctx, 101, "running", testOperation("r1"), "lockstep-test"), {
    instanceOf: HaRequestPendingError,
  });
  t.is(err?.code, "UNAVAILABLE");
  t.like(err?.metadata, { ha_managed: "true", reason: "ha-request-pending" });
  t.is(clock.now() - start, node.ctx.timeouts.powerMs);
});

test("a start of a CT without HA whose state is never reached fails with a typed error within the power timeout", async (t) => {
  const clock = new SteppingClock();
  const start = clock.now();
  const node = fakeNode(t, (args) => (args[0] === "status" ? status("stopped") : {}), clock);
  const err = await t.throwsAsync(setPower(node.ctx, 101, "running", testOperation("r1"), "lockstep-test"), {
    instanceOf: PowerStateNotReachedError,
  });
  t.is(err?.code, "VERIFICATION_FAILED");
  t.like(err?.metadata, { ha_managed: "false", reason: "power-state-not-reached" });
  t.is(clock.now() - start, node.ctx.timeouts.powerMs);
});

test("a start of a CT that is not HA-managed reads its state once and sleeps not at all", async (t) => {
  const clock = new SteppingClock();
  let started = false;
  const node = fakeNode(
    t,
    (args) => {
      if (args[0] === "start") started = true;
      return args[0] === "status" ? status(started ? "running" : "stopped") : {};
    },
    clock,
  );
  await setPower(node.ctx, 101, "running", testOperation("r1"), "lockstep-test");
  t.deepEqual(clock.sleeps, []);
  t.deepEqual(
    node.calls.map((c) => c[0]),
    ["status", "start", "status"],
  );
});

test("a CT already in the state asked for is left alone", async (t) => {
  const node = fakeNode(t, (args) => (args[0] === "status" ? status("running") : {}));
  t.deepEqual(await setPower(node.ctx, 101, "running", testOperation("r1"), "lockstep-test"), {
    status: "running",
    changed: false,
  });
  t.deepEqual(
    node.calls.map((c) => c[0]),
    ["status"],
  );
});

test("a stop that the HA manager completes later waits until the CT is stopped (Status.pm vm_stop: Requesting HA stop)", async (t) => {
  let stopped = false;
  let reads = 0;
  const node = fakeNode(t, (args) => {
    if (args[0] === "stop") {
      stopped = true;
      return { stdout: "Requesting HA stop for CT 101\n" };
    }
    return args[0] === "status" ? status(stopped && ++reads > 2 ? "stopped" : "running") : {};
  });
  t.deepEqual(await setPower(node.ctx, 101, "stopped", testOperation("r1"), "lockstep-test"), {
    status: "stopped",
    changed: true,
  });
});
