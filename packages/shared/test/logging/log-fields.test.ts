import test from "ava";
import { createMemoryLogger, withLogFields } from "../../src/logging/logger.js";

const tick = () => new Promise((r) => setImmediate(r));

test("every entry written inside withLogFields carries its fields, across awaits", async (t) => {
  const logger = createMemoryLogger();
  await withLogFields({ requestId: "req-12345678" }, async () => {
    await tick();
    logger.info("deep inside");
  });
  t.like(logger.entries[0], { msg: "deep inside", requestId: "req-12345678" });
});

test("a logger made before the scope still writes the scope's fields", (t) => {
  const root = createMemoryLogger();
  const child = root.child({ component: "pct" });
  withLogFields({ jobId: "job-1" }, () => child.warn("lost to a lock"));
  t.like(root.entries[0], { component: "pct", jobId: "job-1" });
});

test("nested scopes add to the outer one", (t) => {
  const logger = createMemoryLogger();
  withLogFields({ jobId: "job-1" }, () => withLogFields({ requestId: "op-1:create" }, () => logger.info("step")));
  t.like(logger.entries[0], { jobId: "job-1", requestId: "op-1:create" });
});

test("entries outside any scope carry none of its fields, even while a scope runs concurrently", async (t) => {
  const logger = createMemoryLogger();
  let release!: () => void;
  const inside = withLogFields({ requestId: "req-12345678" }, () => new Promise<void>((r) => (release = r)));
  logger.info("outside");
  release();
  await inside;
  t.false("requestId" in logger.entries[0]!);
});

test("fields given to the call win over the scope's", (t) => {
  const logger = createMemoryLogger();
  withLogFields({ vmid: 100 }, () => logger.info("explicit", { vmid: 200 }));
  t.is(logger.entries[0]!.vmid, 200);
});
