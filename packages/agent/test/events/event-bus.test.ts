import test from "ava";
import { createMemoryLogger } from "@lockstep/shared";
import { EventBus } from "../../src/events/event-bus.js";
import type { NodeEvent } from "../../src/events/node-event.js";

const event = (atMs: number): NodeEvent => ({
  atMs,
  node: "pve1",
  vmid: 300,
  kind: "lock-detected",
  detail: `at ${atMs}`,
});

test("recent events are replayed from the asked time, oldest first", (t) => {
  const bus = new EventBus(createMemoryLogger());
  [10, 20, 30].forEach((at) => bus.publish(event(at)));
  t.deepEqual(
    bus.recent(20).map((e) => e.atMs),
    [20, 30],
  );
});

test("only the newest events up to the bound are held for replay", (t) => {
  const bus = new EventBus(createMemoryLogger(), 2);
  [10, 20, 30].forEach((at) => bus.publish(event(at)));
  t.deepEqual(
    bus.recent(0).map((e) => e.atMs),
    [20, 30],
  );
});
