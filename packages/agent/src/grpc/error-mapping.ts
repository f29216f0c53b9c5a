import type { ServiceError } from "@grpc/grpc-js";
import { LockstepError, toServiceError, type Logger } from "@lockstep/shared";

/**
 * The one place an error becomes a gRPC status. Domain errors keep their reason code; any
 * other error is a bug or an unexpected fault: logged in full here, sent as INTERNAL
 * without internals (paths, stack) reaching the caller.
 */
export function toGrpcError(err: unknown, logger: Logger, method: string): Partial<ServiceError> {
  if (err instanceof LockstepError) return toServiceError(err);
  logger.error("unexpected error in RPC", {
    method,
    err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
  });
  return toServiceError(new LockstepError("INTERNAL", `internal error in ${method}; see the agent's log`));
}
