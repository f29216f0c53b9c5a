import test from "ava";
import { changedSteps, mergeStep, type StepRecord } from "../../src/index.js";

const step = (name: string, status: StepRecord["status"], changed: boolean, attempt: number): StepRecord => ({
  name,
  status,
  changed,
  attempt,
  changed_attempt: changed ? attempt : null,
  detail: "",
  started_at: "2026-11-23T00:00:00.000Z",
  finished_at: null,
  duration_ms: null,
  error: null,
});

test("a step's new record replaces its earlier one, in first-run order", (t) => {
  const steps = mergeStep(
    [step("create", "running", false, 1), step("configure", "running", false, 1)],
    step("create", "skipped", false, 2),
  );
  t.deepEqual(
    steps.map((s) => `${s.name}:${s.status}`),
    ["create:skipped", "configure:running"],
  );
});

test("a change made by an earlier attempt stays reported when the retry finds it done", (t) => {
  const running = mergeStep(
    [step("file:/etc/app.conf", "succeeded", true, 1)],
    step("file:/etc/app.conf", "running", false, 2),
  );
  const [merged] = mergeStep(running, step("file:/etc/app.conf", "skipped", false, 2));
  t.like(merged, {
    status: "succeeded",
    changed: true,
    changed_attempt: 1,
    attempt: 2,
    detail: " (changed by attempt 1)",
  });
  t.deepEqual(changedSteps([merged!]), ["file:/etc/app.conf"]);
});
