import type { Logger } from "@lockstep/shared";
import type { NodeEvent } from "../events/node-event.js";
import type { ClusterFsStatus } from "../node/cluster-fs.js";
import type { MutatingName, ReadName, RequestOf, ResultOf } from "./operation-catalog.js";

/** Who asks for a mutating operation, as the network process knows it. */
export interface CallerScope {
  readonly requestId: string;
  /** The names of the caller's client certificate, when it had one. */
  readonly client?: string;
  readonly logger: Logger;
  /**
   * Gives up WAITING for the outcome (the network process is stopping). The operation itself
   * goes on: only the executor's own stop interrupts `pct`, and a retry with the same request
   * ID joins the operation or collects its outcome.
   */
  readonly signal: AbortSignal;
}

/** What the executor reports beside answers: node events, `pct` timings, /etc/pve's state. */
export interface ExecutorObserver {
  event(event: NodeEvent): void;
  pct(command: string, outcome: string, seconds: number): void;
  clusterFs(status: ClusterFsStatus): void;
  /** The executor's socket connected (true) or closed (false); an executor in this process never calls it. */
  reachable?(reachable: boolean, detail: string): void;
}

/**
 * The node as the network-facing part of the agent sees it: the allow-listed operations of
 * operation-catalog.ts and nothing else. In one process it is a LocalExecutor; split, the
 * SocketExecutor reaches the root executor's LocalExecutor over a Unix socket.
 */
export interface Executor {
  read<N extends ReadName>(name: N, request: RequestOf<N>): Promise<ResultOf<N>>;
  /**
   * Runs the operation once per request ID: a second call with the ID of one still running
   * (or finished and not yet released) gets that one's outcome, without running anything.
   */
  mutate<N extends MutatingName>(name: N, request: RequestOf<N>, caller: CallerScope): Promise<ResultOf<N>>;
  /** The outcome of `requestId` is recorded durably; the executor may forget it. */
  release(requestId: string): void;
  /** Until the returned function is called; with `sinceMs`, events held since then come first. */
  observe(observer: ExecutorObserver, sinceMs?: number): () => void;
}
