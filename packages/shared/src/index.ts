export * as agentV1 from "./gen/lockstep/agent/v1/agent.js";
export { LockstepError } from "./errors/lockstep-error.js";
export { type ReasonCode, reasonCode, reasonEnum } from "./errors/reason.js";
export { ERROR_DETAIL_KEY, toServiceError, fromServiceError } from "./errors/wire.js";
export * from "./validation/rules.js";
export { type Logger, type LogLevel, type LogFields, type LogEntry, createLogger, createJsonLogger, createMemoryLogger, redact } from "./logging/logger.js";
export { type Clock, systemClock, ManualClock } from "./time/clock.js";
export { type KeySpec, ConfigError, compileConfig, envName } from "./config/config-schema.js";
export { AgentClient, type AgentClientOptions, type CallOptions } from "./grpc/agent-client.js";
