import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { ErrorDetail } from "../gen/lockstep/agent/v1/agent.js";
import { LockstepError } from "./lockstep-error.js";
import { reasonCode, reasonEnum, type ReasonCode } from "./reason.js";

/** Trailing metadata key that carries a serialized ErrorDetail on every failed RPC. */
export const ERROR_DETAIL_KEY = "lockstep-error-bin";

/**
 * The gRPC status for each reason. This table is the only place a reason becomes a status.
 * LOCK_HELD is UNAVAILABLE (retry later) rather than ABORTED so that generic clients back off.
 */
const STATUS_BY_REASON: Record<ReasonCode, status> = {
  LOCK_HELD: status.UNAVAILABLE,
  HYPERVISOR_UNRESPONSIVE: status.UNAVAILABLE,
  NOT_FOUND: status.NOT_FOUND,
  REQUEST_ID_REUSED: status.ALREADY_EXISTS,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  COMMAND_FAILED: status.ABORTED,
  VERIFICATION_FAILED: status.ABORTED,
  INTERRUPTED: status.ABORTED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: status.UNAVAILABLE,
  INTERNAL: status.INTERNAL,
  // Retry later, without backing off as for an outage: the work is going on.
  OPERATION_RUNNING: status.UNAVAILABLE,
  STATE_STORAGE_FULL: status.RESOURCE_EXHAUSTED,
  // Not this record's container: no retry makes it so.
  FOREIGN_CONTAINER: status.FAILED_PRECONDITION,
  // The cluster will regain quorum or not; retry later, like an outage.
  CLUSTER_NO_QUORUM: status.UNAVAILABLE,
};

/** The grpc-js error an agent handler passes to its callback for a domain error. */
export function toServiceError(err: LockstepError): Partial<ServiceError> {
  const metadata = new Metadata();
  const detail = ErrorDetail.create({
    reason: reasonEnum(err.code),
    message: err.message,
    metadata: { ...err.metadata },
  });
  metadata.set(ERROR_DETAIL_KEY, Buffer.from(ErrorDetail.encode(detail).finish()));
  return { code: STATUS_BY_REASON[err.code], details: `${err.code}: ${err.message}`, metadata };
}

/**
 * The domain error carried by a failed call. A failure without an ErrorDetail (the agent
 * was never reached, a deadline passed) is mapped from its status alone.
 */
export function fromServiceError(err: ServiceError): LockstepError {
  const raw = err.metadata?.get(ERROR_DETAIL_KEY)[0];
  if (raw instanceof Buffer) {
    const detail = ErrorDetail.decode(raw);
    return new LockstepError(reasonCode(detail.reason), detail.message, detail.metadata, { cause: err });
  }
  return new LockstepError(
    reasonForBareStatus(err.code),
    err.details || err.message,
    { grpc_status: String(err.code) },
    { cause: err },
  );
}

function reasonForBareStatus(code: status): ReasonCode {
  switch (code) {
    case status.UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case status.PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case status.INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case status.RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case status.NOT_FOUND:
      return "NOT_FOUND";
    case status.UNIMPLEMENTED:
      return "INTERNAL";
    // The agent could not be reached or did not answer in time: the outcome is unknown.
    default:
      return "UNAVAILABLE";
  }
}
