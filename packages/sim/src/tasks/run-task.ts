import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, constants, mkdirSync, openSync, writeSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SimContext } from "../commands/sim-context.js";
import { recordCall } from "../node/tasks.js";
import { activeWorkers } from "./active-workers.js";
import { openOutputPipe } from "./output-pipe.js";
import type { TaskCommand } from "./task-command.js";
import { procStat, processRunning, readTaskStatus, statusIsError, taskLogPath } from "./upid.js";
import { TITLE_ROOM, WORKER_ARG, WORKER_PLAN_ENV, type WorkerPlan } from "./worker-plan.js";

/** The simulator's entry: the worker re-executes it. */
const ENTRY = fileURLToPath(new URL("../main.js", import.meta.url));

/**
 * Runs a task command as pve-common RESTEnvironment.pm fork_worker does for the CLI (sync):
 * `before` here in `pct`; the body in a worker process of its own session; its output
 * relayed to stdout and the task log as it comes (tee_worker); the control message; then
 * kill_process_group, waitpid and log_task_result. Resolves to pct's exit status: with
 * pct.pm's `$upid_exit`, 255 when the task's status is an error, else 0.
 */
export async function runTask<P>(
  ctx: SimContext,
  name: string,
  command: TaskCommand<P>,
  args: string[],
): Promise<number> {
  const plan = command.before(ctx, args);
  const { layout } = ctx.node;
  const workerPlan: WorkerPlan = {
    command: name,
    type: plan.type,
    id: plan.id,
    prepared: plan.prepared,
    starttime: Math.floor(Date.now() / 1000),
    rule: ctx.fault.rule,
  };
  const pipe = openOutputPipe(layout);
  const inherited = plan.inheritedLock ? [plan.inheritedLock.fd] : [];
  const child = spawn(process.execPath, [ENTRY, WORKER_ARG, TITLE_ROOM], {
    detached: true,
    stdio: ["ignore", pipe.writeFd, pipe.writeFd, "pipe", ...inherited],
    env: { ...ctx.env, [WORKER_PLAN_ENV]: JSON.stringify(workerPlan) },
  });
  closeSync(pipe.writeFd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const control = child.stdio[3] as net.Socket;
  const output = new net.Socket({ fd: pipe.readFd, readable: true, writable: false });
  try {
    const upid = await syncWithWorker(control);
    const pstart = procStat(child.pid!)?.starttime ?? 0;
    const logFd = openTaskLog(layout, upid);
    activeWorkers(layout, upid, true);
    control.write("OK");
    recordCall(layout, { event: "task-start", upid, workerPid: child.pid, at: Date.now() });
    await teeWorker(output, control, logFd, child);
    closeSync(logFd);
    await killProcessGroup(child.pid!, pstart);
    const { code, signal } = await exited;
    activeWorkers(layout, upid);
    const status = readTaskStatus(layout, upid);
    recordCall(layout, {
      event: "task-end",
      upid,
      workerPid: child.pid,
      status,
      exitCode: code,
      signal,
      at: Date.now(),
    });
    return command.exitOnTaskError === false || !statusIsError(status) ? 0 : 255;
  } finally {
    plan.inheritedLock?.release();
  }
}

/** fork_worker: "sync with child (wait until child starts)": the worker's UPID. */
function syncWithWorker(control: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (!text.includes("\n")) return;
      control.off("data", onData).off("end", onEnd);
      resolve(text.slice(0, text.indexOf("\n")));
    };
    const onEnd = (): void => reject(new Error("got no worker upid - start worker failed"));
    control.on("data", onData).once("end", onEnd);
  });
}

/** UPID::open_log: creates the task log (exclusively), its hex-digit directory first. */
function openTaskLog(layout: SimContext["node"]["layout"], upid: string): number {
  const file = taskLogPath(layout, upid);
  mkdirSync(path.dirname(file), { recursive: true });
  return openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o640);
}

/**
 * tee_worker: relays the worker's output to stdout and the task log until EOF (or until the
 * worker is gone while something else holds the pipe), then reads the control message:
 * `TASK OK` goes to the log only; an error or warnings also to stderr. INT, QUIT and TERM
 * send TERM to the worker's process group, the fourth and later KILL. A broken stdout ends
 * the relay with `broken pipe`.
 */
async function teeWorker(output: net.Socket, control: net.Socket, logFd: number, child: ChildProcess): Promise<void> {
  let interrupts = 0;
  const onSignal = (): void => {
    signalGroup(child.pid!, interrupts < 3 ? "SIGTERM" : "SIGKILL");
    interrupts++;
  };
  const signals = ["SIGINT", "SIGQUIT", "SIGTERM"] as const;
  for (const signal of signals) process.on(signal, onSignal);
  let controlText = "";
  // tee_worker's `POSIX::read($ctrlfd, ...)` blocks until the worker's message or its end (EOF),
  // however long the worker takes between closing its output and writing the message.
  const controlRead = new Promise<void>((resolve) => {
    control.on("data", (chunk: Buffer) => {
      controlText += chunk.toString();
      if (controlText.includes("\n")) resolve();
    });
    control.once("close", () => resolve());
  });
  let error: string | null = null;
  await new Promise<void>((resolve) => {
    const watch = setInterval(() => {
      if (!processRunning(child.pid!)) done();
    }, 1000);
    function done(): void {
      clearInterval(watch);
      process.stdout.off("error", onBroken);
      resolve();
    }
    function onBroken(): void {
      error = "broken pipe";
      done();
    }
    process.stdout.on("error", onBroken);
    output.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      writeSync(logFd, chunk);
    });
    output.once("end", done).once("error", done);
  });
  output.destroy();
  if (error === null) {
    await controlRead;
    error = controlMessage(controlText, logFd);
  }
  control.destroy();
  if (error !== null) {
    process.stderr.write(`${error}\n`);
    writeSync(logFd, `TASK ERROR: ${error}\n`);
  }
}

/** tee_worker's handling of the control message; returns the error to report, if any. */
function controlMessage(text: string, logFd: number): string | null {
  if (/^TASK OK\n?$/.test(text)) {
    writeSync(logFd, text);
    return null;
  }
  const failed = /^TASK ERROR: (.*)\n?$/.exec(text);
  if (failed) {
    process.stderr.write(`${failed[1]}\n`);
    writeSync(logFd, `\n${text}`);
    return null;
  }
  const warned = /^TASK WARNINGS: (\d+)\n?$/.exec(text);
  if (warned) {
    process.stderr.write(`Task finished with ${warned[1]} warning(s)!\n`);
    writeSync(logFd, `\n${text}`);
    return null;
  }
  return `got unexpected control message: ${text}`.replace(/\n/g, " ");
}

/** Sends `signal` to the worker's process group (`kill(15, -$cpid)`); a gone group is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** kill_process_group: TERM to the group, up to 5 s for the worker to go, then KILL. */
async function killProcessGroup(pid: number, pstart: number): Promise<void> {
  signalGroup(pid, "SIGTERM");
  for (let i = 0; i < 5; i++) {
    if (!processRunning(pid, pstart)) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  signalGroup(pid, "SIGKILL");
}
