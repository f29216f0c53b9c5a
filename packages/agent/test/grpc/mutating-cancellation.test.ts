// The one cancellation story of a mutating RPC (grpc/unary.ts) in the agent's one process:
// only the agent's stop cancels an operation, and its signal reaches, through the in-process
// executor (executor/local-executor.ts), the `pct` process and, through pct, the task worker.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerUnaryCall, ServiceError } from "@grpc/grpc-js";
import test from "ava";
import { createMemoryLogger, scratchDir, systemClock } from "@lockstep/shared";
import { RequestDeduplicator } from "../../src/dedup/index.js";
import { EventBus } from "../../src/events/event-bus.js";
import { ExecutorObservers } from "../../src/executor/executor-observers.js";
import { LocalExecutor } from "../../src/executor/local-executor.js";
import type { MutatingHandlers, ReadHandlers } from "../../src/executor/node-operations.js";
import { mutating, type JsonCodec } from "../../src/grpc/unary.js";
import { ProcessPctRunner } from "../../src/pct/process-pct-runner.js";
import { VmidSerializer } from "../../src/serial/index.js";
import { openStore, tempDir } from "../dedup/temp-store.js";

const FAKE = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "pct", "fixtures", "fake-task-pct.pl");

interface Req {
  requestId: string;
  vmid: number;
}
interface Res {
  replayed: boolean;
  exitCode: number;
}
const codec: JsonCodec<Res> = { toJSON: (m) => m, fromJSON: (o) => o as Res };

/** The RPC `method` of the gRPC layer over an in-process executor whose operation of that name is `work`. */
async function setup(
  t: Parameters<typeof openStore>[0],
  method: "CreateContainer" | "StartContainer",
  work: () => Promise<Res>,
) {
  const store = await openStore(t, tempDir(t));
  const dedup = new RequestDeduplicator(store, store.logger);
  const serializer = new VmidSerializer();
  const logger = createMemoryLogger();
  const executor = new LocalExecutor({
    reads: {} as ReadHandlers,
    mutations: { [method]: work } as unknown as MutatingHandlers,
    serializer,
    observers: new ExecutorObservers(new EventBus(logger)),
    clock: systemClock,
    keepOutcomesMs: 60_000,
    maxRunning: 10,
  });
  const deps = {
    logger,
    rpcs: { observe: () => undefined },
    dedup,
    release: (id: string) => executor.release(id),
    admission: { enter: () => () => undefined },
  };
  const handler = mutating<Req, Res>(
    method,
    deps,
    codec,
    (request, caller) => executor.mutate(method, request as never, caller) as Promise<unknown> as Promise<Res>,
  );
  return { dedup, serializer, handler };
}

/** Calls a handler as grpc-js would and returns its error (or null) once it answers. */
function call(handler: ReturnType<typeof mutating<Req, Res>>, request: Req): Promise<Partial<ServiceError> | null> {
  return new Promise((resolve) =>
    handler({ request, getAuthContext: () => ({}) } as unknown as ServerUnaryCall<Req, Res>, (err) =>
      resolve(err as Partial<ServiceError> | null),
    ),
  );
}

async function waitFor(what: () => boolean, boundMs: number): Promise<boolean> {
  const until = Date.now() + boundMs;
  while (Date.now() < until && !what()) await new Promise((resolve) => setTimeout(resolve, 20));
  return what();
}

test("an agent stop (abortRunning) reaches the running pct, whose task worker runs its error path, and the request answers UNAVAILABLE", async (t) => {
  const dir = scratchDir(t, "cancel");
  const pct = new ProcessPctRunner({ pct: FAKE, defaultTimeoutMs: 30_000, terminateGraceMs: 3_000 });
  const { dedup, handler } = await setup(t, "CreateContainer", async () => ({
    replayed: false,
    exitCode: (await pct.run(["finish", dir, "20000"])).exitCode,
  }));
  const answered = call(handler, { requestId: "req-cancel-0001", vmid: 100 });
  t.true(await waitFor(() => existsSync(path.join(dir, "worker")), 5_000));
  dedup.abortRunning();
  const err = await answered;
  t.regex(err?.details ?? "", /^UNAVAILABLE: the agent is shutting down/);
  t.is(readFileSync(path.join(dir, "cleaned"), "utf8"), "received interrupt\n");
  t.is(dedup.get("req-cancel-0001")?.error?.code, "UNAVAILABLE");
});

test("an agent stop gives up a request still waiting for its VMID without running it", async (t) => {
  let ran = false;
  const { dedup, serializer, handler } = await setup(t, "StartContainer", async () => {
    ran = true;
    return { replayed: false, exitCode: 0 };
  });
  let release!: () => void;
  serializer.hold(100, new Promise<void>((resolve) => (release = resolve)));
  const answered = call(handler, { requestId: "req-cancel-0002", vmid: 100 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  dedup.abortRunning();
  t.regex((await answered)?.details ?? "", /^UNAVAILABLE: /);
  release();
  t.false(ran);
});
