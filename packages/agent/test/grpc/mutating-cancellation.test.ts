// The one cancellation story of a mutating RPC (grpc/unary.ts): only the agent's stop cancels
// an operation, and its signal reaches the `pct` process and, through pct, the task worker.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerUnaryCall, ServiceError } from "@grpc/grpc-js";
import test from "ava";
import { createMemoryLogger, scratchDir } from "@lockstep/shared";
import { RequestDeduplicator } from "../../src/dedup/index.js";
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

async function setup(t: Parameters<typeof openStore>[0]) {
  const store = await openStore(t, tempDir(t));
  const dedup = new RequestDeduplicator(store, store.logger);
  const serializer = new VmidSerializer();
  const deps = {
    logger: createMemoryLogger(),
    rpcs: { observe: () => undefined },
    dedup,
    serializer,
    admission: { enter: () => () => undefined },
  };
  return { dedup, serializer, deps };
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
  const { dedup, deps } = await setup(t);
  const dir = scratchDir(t, "cancel");
  const pct = new ProcessPctRunner({ pct: FAKE, defaultTimeoutMs: 30_000, terminateGraceMs: 3_000 });
  const handler = mutating<Req, Res>("CreateContainer", deps, codec, async () => ({
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
  const { dedup, serializer, deps } = await setup(t);
  let release!: () => void;
  serializer.hold(100, new Promise<void>((resolve) => (release = resolve)));
  let ran = false;
  const handler = mutating<Req, Res>("StartContainer", deps, codec, async () => {
    ran = true;
    return { replayed: false, exitCode: 0 };
  });
  const answered = call(handler, { requestId: "req-cancel-0002", vmid: 100 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  dedup.abortRunning();
  t.regex((await answered)?.details ?? "", /^UNAVAILABLE: /);
  release();
  t.false(ran);
});
