import { agentV1, reasonEnum } from "@lockstep/shared";
import type { RequestRecord, RequestStatus } from "./request-record.js";

const STATUS: Record<RequestStatus, agentV1.OperationStatus> = {
  running: agentV1.OperationStatus.RUNNING,
  succeeded: agentV1.OperationStatus.SUCCEEDED,
  failed: agentV1.OperationStatus.FAILED,
  interrupted: agentV1.OperationStatus.INTERRUPTED,
  damaged: agentV1.OperationStatus.INTERRUPTED,
};

/** A request record as GetOperation returns it (the stored response itself is not part of it). */
export function toOperationRecord(record: RequestRecord): agentV1.OperationRecord {
  return {
    requestId: record.requestId,
    method: record.method,
    vmid: record.vmid ?? 0,
    status: STATUS[record.status],
    startedMs: record.startedMs,
    finishedMs: record.finishedMs ?? 0,
    error: record.error && {
      reason: reasonEnum(record.error.code),
      message: record.error.message,
      metadata: { ...record.error.metadata },
    },
    fingerprint: record.fingerprint,
  };
}
