import net, { type Socket } from "node:net";
import type { Clock, Logger } from "@lockstep/shared";
import { HypervisorUnresponsiveError, UnavailableError } from "../errors.js";
import type { NodeEvent } from "../events/node-event.js";
import type { ClusterFsStatus } from "../node/cluster-fs.js";
import type { CallerScope, Executor, ExecutorObserver } from "./executor.js";
import { fromWireError, isRecord, readFrames, writeFrame, type CallFrame } from "./executor-protocol.js";
import {
  OPERATIONS,
  type MutatingName,
  type OperationName,
  type ReadName,
  type RequestOf,
  type ResultOf,
} from "./operation-catalog.js";

export interface SocketExecutorOptions {
  readonly socket: string;
  /**
   * The node probe and host statistics not answered in this long fail: the executor is stopped
   * or stuck, and Health must say so in time. Other reads make several `pct` calls, each bounded
   * in the executor by its own timeout, and are not bounded again here (a tighter bound would
   * fail a listing the node answers, only slowly); a caller's deadline ends its own wait.
   */
  readonly probeTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

/**
 * The root executor over its Unix socket, from the unprivileged network process. It connects
 * in the background and again whenever the connection drops (an executor restart): while
 * there is none, calls fail at once with UNAVAILABLE, and Health says NOT_SERVING. A call
 * whose connection drops fails UNAVAILABLE too; its operation may have run, and a retry with
 * the same request ID converges. A mutating call is never cancelled from here: giving up the
 * wait (`caller.signal`) leaves the executor to finish it and keep its outcome.
 */
export class SocketExecutor implements Executor {
  private socket: Socket | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly observers = new Set<ExecutorObserver>();
  private readonly connectedWaiters = new Set<() => void>();
  private nextId = 1;
  private closed = false;
  private reconnectMs = RECONNECT_MIN_MS;
  /** Events from this time on are wanted after a reconnect: the newest one seen, or the start. */
  private eventsSinceMs: number;

  private constructor(private readonly options: SocketExecutorOptions) {
    this.eventsSinceMs = options.clock.now();
  }

  /** Starts connecting; resolves at once with the executor, connected or not yet. */
  static connect(options: SocketExecutorOptions): SocketExecutor {
    const executor = new SocketExecutor(options);
    executor.open();
    return executor;
  }

  read<N extends ReadName>(name: N, request: RequestOf<N>): Promise<ResultOf<N>> {
    const frame = { read: name, request: encode(name, request) };
    const bounded = name === "ProbeNode" || name === "ReadHostStats";
    return this.call(name, frame, bounded ? this.options.probeTimeoutMs : null, null);
  }

  mutate<N extends MutatingName>(name: N, request: RequestOf<N>, caller: CallerScope): Promise<ResultOf<N>> {
    const frame = { mutate: name, request: encode(name, request), ...(caller.client ? { client: caller.client } : {}) };
    return this.call(name, frame, null, caller.signal);
  }

  /** Resolves once connected, or after `boundMs` without a connection (the agent serves UNAVAILABLE meanwhile). */
  async whenConnected(boundMs: number): Promise<boolean> {
    if (this.socket) return true;
    let timer: NodeJS.Timeout | undefined;
    let settle!: () => void;
    await new Promise<void>((resolve) => {
      settle = resolve;
      this.connectedWaiters.add(settle);
      timer = setTimeout(resolve, boundMs);
    });
    clearTimeout(timer);
    this.connectedWaiters.delete(settle);
    return this.socket !== null;
  }

  release(requestId: string): void {
    if (this.socket?.readyState === "open") writeFrame(this.socket, { release: requestId });
  }

  observe(observer: ExecutorObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Stops reconnecting and drops the connection; the executor's running work goes on. */
  async close(): Promise<void> {
    this.closed = true;
    this.socket?.destroy();
  }

  private call<N extends OperationName>(
    name: N,
    frame: Omit<CallFrame, "id">,
    timeoutMs: number | null,
    signal: AbortSignal | null,
  ): Promise<ResultOf<N>> {
    const socket = this.socket;
    if (!socket || socket.readyState !== "open")
      return Promise.reject(new UnavailableError(`the node's executor is not reachable at ${this.options.socket}`));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const id = this.nextId++;
    return new Promise<ResultOf<N>>((resolve, reject) => {
      const done = () => {
        this.pending.delete(id);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        done();
        reject(signal!.reason as Error);
      };
      const timer =
        timeoutMs === null
          ? null
          : setTimeout(() => {
              done();
              reject(
                new HypervisorUnresponsiveError(`the node's executor did not answer ${name} within ${timeoutMs} ms`),
              );
            }, timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        resolve: (value) => {
          done();
          resolve((OPERATIONS[name].response.fromJSON as (v: unknown) => ResultOf<N>)(value));
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      writeFrame(socket, { id, ...frame });
    });
  }

  private open(): void {
    if (this.closed) return;
    const socket = net.connect(this.options.socket);
    socket.once("connect", () => {
      this.socket = socket;
      this.reconnectMs = RECONNECT_MIN_MS;
      this.options.logger.info("connected to the node's executor", { socket: this.options.socket });
      writeFrame(socket, { observe: { sinceMs: this.eventsSinceMs } });
      this.connectedWaiters.forEach((wake) => wake());
      this.observers.forEach((o) => o.reachable?.(true, ""));
    });
    readFrames(
      socket,
      2 * this.options.maxMessageBytes + 65_536,
      (frame) => this.receive(frame),
      (reason) => {
        this.options.logger.error("the node's executor broke its protocol", { reason });
        socket.destroy();
      },
    );
    socket.on("error", (err) => this.options.logger.debug("executor connection failed", { err: err.message }));
    socket.once("close", () => this.lost(socket));
  }

  private lost(socket: Socket): void {
    const wasOpen = this.socket === socket;
    if (wasOpen) {
      this.socket = null;
      this.options.logger.warn("lost the connection to the node's executor", { socket: this.options.socket });
      const detail = `the node's executor is not reachable at ${this.options.socket}`;
      this.observers.forEach((o) => o.reachable?.(false, detail));
    }
    for (const [, call] of this.pending)
      call.reject(
        new UnavailableError(
          "the connection to the node's executor closed before it answered; what it did is read from the node on retry",
        ),
      );
    this.pending.clear();
    if (this.closed) return;
    const delay = this.reconnectMs;
    this.reconnectMs = Math.min(this.reconnectMs * 2, RECONNECT_MAX_MS);
    setTimeout(() => this.open(), delay).unref();
  }

  private receive(frame: Record<string, unknown>): void {
    if (typeof frame.id === "number") {
      const call = this.pending.get(frame.id);
      if (!call) return;
      if ("error" in frame) call.reject(fromWireError(frame.error));
      else call.resolve(frame.result);
      return;
    }
    if (isRecord(frame.event)) {
      const event = frame.event as unknown as NodeEvent;
      this.eventsSinceMs = Math.max(this.eventsSinceMs, event.atMs);
      this.observers.forEach((o) => o.event(event));
    } else if (isRecord(frame.pct)) {
      const { command, outcome, seconds } = frame.pct;
      if (typeof command === "string" && typeof outcome === "string" && typeof seconds === "number")
        this.observers.forEach((o) => o.pct(command, outcome, seconds));
    } else if (isRecord(frame.clusterFs)) {
      const status = frame.clusterFs as unknown as ClusterFsStatus;
      this.observers.forEach((o) => o.clusterFs(status));
    }
  }
}

function encode<N extends OperationName>(name: N, request: RequestOf<N>): unknown {
  return (OPERATIONS[name].request.toJSON as (r: unknown) => unknown)(request);
}
