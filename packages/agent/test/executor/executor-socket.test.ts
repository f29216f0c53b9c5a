// The root executor's socket (executor/executor-server.ts, socket-executor.ts) over a real Unix
// socket, with real processes of other users connecting to it.
import { spawn } from "node:child_process";
import { chmodSync, statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "ava";
import {
  ConfigError,
  createMemoryLogger,
  LockstepError,
  scratchDir,
  systemClock,
  type TestScope,
} from "@lockstep/shared";
import { LockHeldError } from "../../src/errors.js";
import { startExecutorServer } from "../../src/executor/executor-server.js";
import { SocketExecutor } from "../../src/executor/socket-executor.js";
import { caller, countingExecutor, start } from "./executor-fixture.js";

// The agent's user in these tests: `daemon` (uid 1, gid 1), which every Debian has.
const AGENT = { uid: 1, gid: 1 };
const NOBODY = 65534;

async function served(t: TestScope, more: Record<string, unknown> = {}, moreReads: Record<string, unknown> = {}) {
  const fixture = countingExecutor(60_000, more, 100, moreReads);
  const dir = scratchDir(t, "executor-socket");
  chmodSync(dir, 0o755);
  const socket = path.join(dir, "executor.sock");
  const options = {
    socket,
    executor: fixture.executor,
    peer: AGENT,
    maxMessageBytes: 1024 * 1024,
    logger: fixture.logger,
  };
  let server = await startExecutorServer(options);
  t.teardown(() => server.close());
  const restart = async () => {
    await server.close();
    server = await startExecutorServer(options);
  };
  return { ...fixture, socket, stop: () => server.close(), restart };
}

function client(t: TestScope, socket: string, probeTimeoutMs = 5_000): SocketExecutor {
  const executor = SocketExecutor.connect({
    socket,
    probeTimeoutMs,
    maxMessageBytes: 1024 * 1024,
    clock: systemClock,
    logger: createMemoryLogger(),
  });
  t.teardown(() => executor.close());
  return executor;
}

/** Connects as `uid`:`gid` in a process of its own, sends `frame`, and says whether an answer came or the socket closed. */
function connectAs(socket: string, uid: number, gid: number, frame: string): Promise<string> {
  const script = `
    const s = require("node:net").connect(process.argv[1], () => s.write(process.argv[2] + "\\n"));
    s.on("data", (d) => { process.stdout.write("answered " + d); s.destroy(); });
    s.on("close", () => process.stdout.write("closed"));
    s.on("error", (e) => process.stdout.write("error " + e.code + " "));`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", script, socket, frame], {
      uid,
      gid,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("close", () => resolve(out));
  });
}

/** Sends raw lines as root and collects what comes back until the executor closes or `ms` pass. */
function rawExchange(socket: string, lines: string[], ms = 1_000): Promise<{ frames: unknown[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(socket, () => s.write(lines.join("\n") + "\n"));
    let text = "";
    let closed = false;
    s.on("data", (d) => (text += d));
    s.on("close", () => (closed = true));
    setTimeout(() => {
      s.destroy();
      resolve({
        frames: text
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as unknown),
        closed,
      });
    }, ms);
  });
}

const PROBE = JSON.stringify({ id: 1, read: "ProbeNode", request: {} });

test("a process of the agent's user is answered", async (t) => {
  const { socket } = await served(t);
  t.regex(
    await connectAs(socket, AGENT.uid, AGENT.gid, PROBE),
    /^answered \{"id":1,"result":\{"pctResponsive":true\}\}/,
  );
});

test("a process of another user is refused by its SO_PEERCRED even when the socket file's group lets it in", async (t) => {
  const { socket, logger } = await served(t);
  t.regex(await connectAs(socket, NOBODY, AGENT.gid, PROBE), /^(error (ECONNRESET|EPIPE) )?closed$/, "no answer");
  const refusal = logger.entries.find((e) => e.msg === "refused a connection from a user that is not the agent's");
  t.like(refusal, { uid: NOBODY, gid: AGENT.gid, allowedUid: AGENT.uid });
});

test("the socket file is 0660 and the agent user's group, so other users cannot even connect", async (t) => {
  const { socket } = await served(t);
  const stat = statSync(socket);
  t.true(stat.isSocket());
  t.is(stat.mode & 0o777, 0o660);
  t.is(stat.gid, AGENT.gid);
  t.regex(await connectAs(socket, NOBODY, NOBODY, PROBE), /error EACCES/);
});

test("an operation that is not on the allow-list is refused with INVALID_ARGUMENT, and nothing runs", async (t) => {
  const { socket, runs } = await served(t);
  const { frames, closed } = await rawExchange(socket, [
    JSON.stringify({ id: 1, mutate: "RunShell", request: { requestId: "req-shell-001", vmid: 100, argv: ["sh"] } }),
    JSON.stringify({ id: 2, read: "StartContainer", request: start("req-read-0001") }),
  ]);
  t.false(closed);
  t.like(frames, [
    { id: 1, error: { code: "INVALID_ARGUMENT" } },
    { id: 2, error: { code: "INVALID_ARGUMENT" } },
  ]);
  t.is(runs(), 0);
});

test("a mutating call without a valid request ID or VMID is refused before it runs", async (t) => {
  const { socket, runs } = await served(t);
  const { frames } = await rawExchange(socket, [
    JSON.stringify({ id: 1, mutate: "StartContainer", request: { requestId: "", vmid: 100 } }),
    JSON.stringify({ id: 2, mutate: "StartContainer", request: { requestId: "req-vmid-0001", vmid: 5 } }),
  ]);
  t.like(frames, [
    { id: 1, error: { code: "INVALID_ARGUMENT", metadata: { field: "request_id" } } },
    { id: 2, error: { code: "INVALID_ARGUMENT", metadata: { field: "vmid" } } },
  ]);
  t.is(runs(), 0);
});

test("a frame that is not JSON closes the connection", async (t) => {
  const { socket } = await served(t);
  const { frames, closed } = await rawExchange(socket, ["rm -rf /"]);
  t.deepEqual(frames, []);
  t.true(closed);
});

test("a mutating call whose connection drops goes on, and a new connection's call with its request ID collects its outcome", async (t) => {
  const { socket, runs, finish } = await served(t);
  const first = client(t, socket);
  await first.whenConnected(5_000);
  const dropped = first.mutate("StartContainer", start("req-drop-0001"), caller("req-drop-0001", createMemoryLogger()));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await first.close();
  const lost = await t.throwsAsync(dropped, { instanceOf: LockstepError });
  t.is(lost?.code, "UNAVAILABLE");
  finish();
  const second = client(t, socket);
  await second.whenConnected(5_000);
  const collected = await second.mutate(
    "StartContainer",
    start("req-drop-0001"),
    caller("req-drop-0001", createMemoryLogger()),
  );
  t.true(collected.changed);
  t.is(runs(), 1, "the operation ran once");
});

test("an error crosses the socket with its reason code and metadata", async (t) => {
  const StopContainer = async () => {
    throw new LockHeldError(100, "CT 100 is locked (backup)", { lock: "backup" });
  };
  const { socket } = await served(t, { StopContainer });
  const executor = client(t, socket);
  await executor.whenConnected(5_000);
  const err = await t.throwsAsync(
    executor.mutate("StopContainer", start("req-error-001"), caller("req-error-001", createMemoryLogger())),
    { instanceOf: LockstepError },
  );
  t.is(err?.code, "LOCK_HELD");
  t.is(err?.message, "CT 100 is locked (backup)");
  t.deepEqual(err?.metadata, { vmid: "100", lock: "backup" });
});

test("calls while the executor is away fail UNAVAILABLE at once, and succeed once it is back", async (t) => {
  const { socket, stop, restart } = await served(t);
  const executor = client(t, socket);
  await executor.whenConnected(5_000);
  await stop();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const away = await t.throwsAsync(executor.read("ProbeNode", {}), { instanceOf: LockstepError });
  t.is(away?.code, "UNAVAILABLE");
  await restart();
  t.true(await executor.whenConnected(5_000));
  t.like(await executor.read("ProbeNode", {}), { pctResponsive: true });
});

test("events published while the connection was down reach the network side once it is back", async (t) => {
  const { socket, stop, restart, events } = await served(t);
  const executor = client(t, socket);
  const seen: string[] = [];
  executor.observe({ event: (e) => seen.push(e.detail), pct: () => undefined, clusterFs: () => undefined });
  await executor.whenConnected(5_000);
  const event = { node: "pve1", vmid: 100, kind: "lock-detected" as const };
  events.publish({ ...event, atMs: Date.now(), detail: "while connected" });
  await stop();
  events.publish({ ...event, atMs: Date.now(), detail: "while away" });
  await restart();
  await executor.whenConnected(5_000);
  for (const until = Date.now() + 5_000; !seen.includes("while away") && Date.now() < until;)
    await new Promise((resolve) => setTimeout(resolve, 20));
  t.true(seen.includes("while connected"));
  t.true(seen.includes("while away"));
});

test("a second executor refuses the socket a live one answers on, naming executorSocket", async (t) => {
  const { socket, executor, logger } = await served(t);
  const err = await t.throwsAsync(
    startExecutorServer({ socket, executor, peer: AGENT, maxMessageBytes: 1024, logger }),
    { instanceOf: ConfigError },
  );
  t.is(err?.message, `executorSocket ${socket}: another executor answers there already`);
});

test("a socket file a killed executor left is replaced", async (t) => {
  const dir = scratchDir(t, "stale-socket");
  const socket = path.join(dir, "executor.sock");
  // A process that listened there and was SIGKILLed: its socket file stays, nothing answers on it.
  const script = `require("node:net").createServer().listen(process.argv[1], () => console.log("up"))`;
  const holder = spawn(process.execPath, ["-e", script, socket], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => holder.stdout.once("data", resolve));
  holder.kill("SIGKILL");
  await new Promise((resolve) => holder.once("exit", resolve));
  t.true(statSync(socket).isSocket());
  const { executor, logger } = countingExecutor();
  const server = await startExecutorServer({ socket, executor, peer: AGENT, maxMessageBytes: 1024, logger });
  t.teardown(() => server.close());
  t.regex(await connectAs(socket, 0, 0, PROBE), /^answered /);
});

test("a listing slower than the probe's bound is answered: only the executor's own pct timeouts bound it", async (t) => {
  const ListContainers = async () => {
    await new Promise((resolve) => setTimeout(resolve, 600));
    return { containers: [], vms: [], clusterContainers: [], clusterName: "", clusterMembers: [] };
  };
  const { socket } = await served(t, {}, { ListContainers });
  const executor = client(t, socket, 200);
  await executor.whenConnected(5_000);
  t.deepEqual((await executor.read("ListContainers", { includeConfig: false })).containers, []);
});

test("a node probe the executor does not answer within its bound fails HYPERVISOR_UNRESPONSIVE, so Health says so in time", async (t) => {
  const ProbeNode = () => new Promise(() => undefined);
  const { socket } = await served(t, {}, { ProbeNode });
  const executor = client(t, socket, 200);
  await executor.whenConnected(5_000);
  const err = await t.throwsAsync(executor.read("ProbeNode", {}), { instanceOf: LockstepError });
  t.is(err?.code, "HYPERVISOR_UNRESPONSIVE");
});
