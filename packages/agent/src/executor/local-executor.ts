import type { Clock } from "@lockstep/shared";
import { RequestIdReusedError, ResourceExhaustedError, UnavailableError } from "../errors.js";
import { withOperation, type OperationScope } from "../pct/operation-scope.js";
import type { VmidSerializer } from "../serial/index.js";
import type { CallerScope, Executor, ExecutorObserver } from "./executor.js";
import type { ExecutorObservers } from "./executor-observers.js";
import type { MutatingHandlers, ReadHandlers } from "./node-operations.js";
import type { MutatingName, ReadName, RequestOf, ResultOf } from "./operation-catalog.js";

export interface LocalExecutorOptions {
  readonly reads: ReadHandlers;
  readonly mutations: MutatingHandlers;
  readonly serializer: VmidSerializer;
  /** Where the node side's events, `pct` timings and /etc/pve changes are reported. */
  readonly observers: ExecutorObservers;
  readonly clock: Clock;
  /** How long an outcome nobody released is kept for a retry to collect. */
  readonly keepOutcomesMs: number;
  /**
   * Operations running at once (maxConcurrentOperations): the network side admits no more, and
   * the executor holds to it whatever a network side asks (one taken over, or a restarted one
   * while the last one's operations still run).
   */
  readonly maxRunning: number;
}

interface Execution {
  readonly name: MutatingName;
  readonly vmid: number;
  readonly outcome: Promise<unknown>;
  settledAtMs: number | null;
}

/**
 * The node's operations run in this process: every mutating one once per request ID, after
 * earlier work on its VMID (serial/), inside its operation scope. The caller's signal is the
 * operation's (in one process it is the agent's stop; the executor's socket passes none). An
 * execution outlives the connection that asked for it: the next call with the same request ID
 * (the retry of a restarted network process) gets its outcome instead of a second run.
 * Outcomes are kept until released, or for `keepOutcomesMs`.
 */
export class LocalExecutor implements Executor {
  private readonly executions = new Map<string, Execution>();
  private readonly stopping = new AbortController();
  private draining = false;

  constructor(private readonly options: LocalExecutorOptions) {}

  read<N extends ReadName>(name: N, request: RequestOf<N>): Promise<ResultOf<N>> {
    const handle = this.options.reads[name] as (request: RequestOf<N>) => Promise<ResultOf<N>>;
    return handle(request);
  }

  // Async for its failures only: everything up to the registration runs at once, so two calls
  // with one request ID cannot both start it.
  async mutate<N extends MutatingName>(name: N, request: RequestOf<N>, caller: CallerScope): Promise<ResultOf<N>> {
    this.forgetOld();
    const known = this.executions.get(caller.requestId);
    if (known) {
      if (known.name !== name || known.vmid !== request.vmid) throw new RequestIdReusedError(caller.requestId);
      return known.outcome as Promise<ResultOf<N>>;
    }
    if (this.draining) throw new UnavailableError("the node's executor is stopping; retry once it is back");
    if (this.runningCount >= this.options.maxRunning)
      throw new ResourceExhaustedError(
        `the node's executor is already running ${this.runningCount} operations (maxConcurrentOperations); retry later with the same request ID`,
      );
    // The caller's signal reaches the operation only in one process, where it is the agent's stop.
    const signal = AbortSignal.any([this.stopping.signal, caller.signal]);
    const op: OperationScope = {
      requestId: caller.requestId,
      signal,
      logger: caller.logger,
      ...(caller.client ? { client: caller.client } : {}),
    };
    const handle = this.options.mutations[name] as (request: RequestOf<N>, op: OperationScope) => Promise<ResultOf<N>>;
    const work = () => withOperation(op, () => handle(request, op));
    const outcome = this.options.serializer.run(request.vmid, work, { signal });
    const execution: Execution = { name, vmid: request.vmid, outcome, settledAtMs: null };
    this.executions.set(caller.requestId, execution);
    const settled = () => void (execution.settledAtMs = this.options.clock.now());
    outcome.then(settled, settled);
    return outcome;
  }

  release(requestId: string): void {
    const execution = this.executions.get(requestId);
    if (execution?.settledAtMs !== null) this.executions.delete(requestId);
  }

  observe(observer: ExecutorObserver, sinceMs?: number): () => void {
    return this.options.observers.add(observer, sinceMs);
  }

  /** Executions not yet settled. */
  get runningCount(): number {
    return [...this.executions.values()].filter((e) => e.settledAtMs === null).length;
  }

  /** Resolves once every execution started so far has settled. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.executions.values()].map((e) => e.outcome));
  }

  /** Takes no new operation from now on; a retry of a known request ID still gets its outcome. */
  drain(): void {
    this.draining = true;
  }

  /** Interrupts every running operation (its `pct` calls stopped as Proxmox stops a task) and takes no more. */
  abortRunning(reason: unknown = new UnavailableError("the executor is stopping")): void {
    this.stopping.abort(reason);
  }

  private forgetOld(): void {
    const before = this.options.clock.now() - this.options.keepOutcomesMs;
    for (const [id, e] of this.executions)
      if (e.settledAtMs !== null && e.settledAtMs < before) this.executions.delete(id);
  }
}
