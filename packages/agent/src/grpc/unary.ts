import type { handleUnaryCall, sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { Logger } from "@lockstep/shared";
import { LockstepError, requestIdProblem, vmidProblem, withLogFields } from "@lockstep/shared";
import type { RpcObserver } from "../metrics/agent-metrics.js";
import { InvalidArgumentError } from "../errors.js";
import type { CallerScope } from "../executor/executor.js";
import { certificateNames } from "./client-allowlist.js";
import { toGrpcError } from "./error-mapping.js";
import type { Deduplicator } from "./ports.js";

/** A ts-proto message codec: enough to store a response as JSON and restore it. */
export interface JsonCodec<T> {
  toJSON(message: T): unknown;
  fromJSON(object: unknown): T;
}

/** Where every RPC reports: the log for unexpected failures, the metrics for all. */
export interface RpcDeps {
  readonly logger: Logger;
  readonly rpcs: RpcObserver;
}

/** A read-only RPC: no request ID, no serialization, errors mapped in one place. */
export function readOnly<Req, Res>(
  method: string,
  deps: RpcDeps,
  handle: (request: Req) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    // Through a promise even when `handle` throws at once, so every failure is mapped here.
    withLogFields({ rpc: method }, () => Promise.resolve(call.request).then(handle)).then(
      (response) => {
        deps.rpcs.observe(method, "OK", false);
        callback(null, response);
      },
      (err: unknown) => {
        deps.rpcs.observe(method, outcomeOf(err), false);
        callback(toGrpcError(err, deps.logger, method));
      },
    );
  };
}

function outcomeOf(err: unknown): string {
  return err instanceof LockstepError ? err.code : "INTERNAL";
}

export interface MutatingDeps extends RpcDeps {
  readonly dedup: Deduplicator;
  /** Tells the executor an outcome is recorded durably here, so it need not keep it. */
  readonly release: (requestId: string) => void;
  /** Takes a slot for one operation (refusing beyond the node's limit or while draining). */
  readonly admission: { enter(): () => void };
}

/**
 * A mutating RPC: its request ID is checked, the request is deduplicated durably (one effect
 * per ID, the stored response replayed with `replayed: true`), and handed to the executor,
 * which runs work on one VMID after earlier work on that VMID. `params` must hold everything
 * that defines the request except the ID, since it is what tells a replay from a reuse.
 *
 * Cancellation, one story: the caller's deadline (or its cancel) does NOT stop the operation.
 * The work goes on within its own `pct` timeouts, its outcome is recorded, and a retry with
 * the same request ID joins it or gets it replayed; stopping `pct` halfway for a caller that
 * stopped waiting would only turn a success into an interrupted operation. Only the agent's
 * own stop cancels work: the deduplicator's signal (`abortRunning`, at the end of the drain)
 * is the caller's signal. In one process it is the operation's too, and stops every `pct` call
 * of the operation the way Proxmox stops a task (pct/process-pct-runner.ts); split, it only
 * ends the network process's wait, and the root executor finishes the work (executor/).
 */
export function mutating<Req extends { requestId: string; vmid: number }, Res extends { replayed: boolean }>(
  method: string,
  deps: MutatingDeps,
  codec: JsonCodec<Res>,
  handle: (request: Req, caller: CallerScope) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const request = call.request;
    // Every line the operation writes, wherever in the agent, carries its request ID.
    const fields = requestIdProblem(request.requestId)
      ? { rpc: method }
      : { rpc: method, requestId: request.requestId, vmid: request.vmid };
    const logger = deps.logger.child(fields);
    const names = certificateNames(call.getAuthContext());
    const client = names.length > 0 ? names.join(",") : undefined;
    const run = async (): Promise<Res> => {
      const problem = requestIdProblem(request.requestId);
      if (problem) throw new InvalidArgumentError("request_id", problem);
      // Checked before the request is recorded: a request for no possible container is not one.
      const vmidInvalid = vmidProblem(request.vmid);
      if (vmidInvalid) throw new InvalidArgumentError("vmid", vmidInvalid);
      const { requestId, ...params } = request;
      let release: (() => void) | undefined;
      try {
        const { value, replayed } = await deps.dedup.run(
          { requestId, method, vmid: request.vmid, params: paramsForFingerprint(params) },
          async (signal) => {
            const caller: CallerScope = { requestId, signal, logger, ...(client ? { client } : {}) };
            return codec.toJSON(await handle(request, caller));
          },
          () => (release = deps.admission.enter()),
        );
        return { ...codec.fromJSON(value), replayed };
      } finally {
        release?.();
        // Recorded, or failed before anything ran: either way the executor need not keep it.
        deps.release(requestId);
      }
    };
    withLogFields(fields, run).then(
      (response) => {
        deps.rpcs.observe(method, "OK", response.replayed);
        callback(null, response);
      },
      (err: unknown) => {
        deps.rpcs.observe(method, outcomeOf(err), false);
        callback(toGrpcError(err, logger, method));
      },
    );
  };
}

/** Bytes enter the fingerprint as base64, so that two pushes of different content never match. */
function paramsForFingerprint(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(params).map(([key, value]) => [
      key,
      Buffer.isBuffer(value) || value instanceof Uint8Array ? { bytes: Buffer.from(value).toString("base64") } : value,
    ]),
  );
}
