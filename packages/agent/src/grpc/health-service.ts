import type { ServerWritableStream } from "@grpc/grpc-js";
import { agentV1, healthV1, type Logger } from "@lockstep/shared";
import { NotFoundError } from "../errors.js";
import type { ServingMonitor, ServingStatus } from "../health/serving-monitor.js";
import { toGrpcError } from "./error-mapping.js";

const { HealthCheckResponse_ServingStatus: Wire } = healthV1;

/**
 * The names the health service answers for: the server as a whole ("") and the NodeAgent
 * service. Both are the node's one status: the agent has nothing to serve without `pct`
 * and /etc/pve.
 */
const HEALTH_SERVICE_NAMES: readonly string[] = ["", `${agentV1.protobufPackage}.NodeAgent`];

const WIRE: Record<ServingStatus, healthV1.HealthCheckResponse_ServingStatus> = {
  SERVING: Wire.SERVING,
  NOT_SERVING: Wire.NOT_SERVING,
};

/** The standard grpc.health.v1 service over the node's serving status (health/serving-monitor.ts). */
export function createHealthService(monitor: ServingMonitor, logger: Logger): healthV1.HealthServer {
  const known = (service: string): boolean => HEALTH_SERVICE_NAMES.includes(service);
  return {
    check: (call, callback) => {
      const { service } = call.request;
      if (!known(service)) return callback(toGrpcError(unknownService(service), logger, "Check"));
      return callback(null, { status: WIRE[monitor.current().status] });
    },
    // The current status at once, then each change, until the client goes or the agent stops.
    // An unknown name gets SERVICE_UNKNOWN and an open stream, as the protocol asks.
    watch: (call: ServerWritableStream<healthV1.HealthCheckRequest, healthV1.HealthCheckResponse>) => {
      if (!known(call.request.service)) {
        call.write({ status: Wire.SERVICE_UNKNOWN });
        return;
      }
      call.write({ status: WIRE[monitor.current().status] });
      const unwatch = monitor.watch(
        (state) => call.write({ status: WIRE[state.status] }),
        () => call.end(),
      );
      for (const end of ["cancelled", "close", "error"]) call.on(end, unwatch);
    },
    list: (_call, callback) => {
      const status = { status: WIRE[monitor.current().status] };
      return callback(null, { statuses: Object.fromEntries(HEALTH_SERVICE_NAMES.map((name) => [name, status])) });
    },
  };
}

function unknownService(service: string): NotFoundError {
  return new NotFoundError(
    `no health status for service '${service}'; known: ${HEALTH_SERVICE_NAMES.map((n) => `'${n}'`).join(", ")}`,
  );
}
