export * as agentV1 from "./gen/lockstep/agent/v1/agent.js";
export * as healthV1 from "./gen/grpc/health/v1/health.js";
export * as reflectionV1 from "./gen/grpc/reflection/v1/reflection.js";
export { agentDescriptorSet } from "./grpc/descriptor-set.js";
export { LockstepError } from "./errors/lockstep-error.js";
export { type ReasonCode, reasonCode, reasonEnum } from "./errors/reason.js";
export { DETAIL_REASON } from "./errors/detail-reason.js";
export { ERROR_DETAIL_KEY, toServiceError, fromServiceError } from "./errors/wire.js";
export * from "./validation/rules.js";
export {
  type Logger,
  type LogLevel,
  type LogFormat,
  type LogFields,
  type LogEntry,
  createLogger,
  createStreamLogger,
  createMemoryLogger,
  resolveLogFormat,
  silentLogger,
  redact,
  scrubSecrets,
  withLogFields,
} from "./logging/logger.js";
export { logEntries, logEntry } from "./logging/log-entries.js";
export { type Clock, systemClock, ManualClock } from "./time/clock.js";
export { type TestScope, scratchDir, SuiteScope } from "./testing/scratch-dir.js";
export { type KeySpec, ConfigError, compileConfig, envName } from "./config/config-schema.js";
export { readJsonFile } from "./config/json-file.js";
export { AgentClient, type AgentClientOptions, type CallOptions } from "./grpc/agent-client.js";
export { ContainerSpec, type ResolvedSpec } from "./spec/container-spec.js";
export {
  checkSpec,
  fixedFieldChanges,
  resolveFeatures,
  type SpecProblem,
  type SpecCheck,
  LOCKSTEP_DIR,
} from "./spec/check-spec.js";
export { Policy, DEFAULT_POLICY, FEATURE_FLAGS, type FeatureFlag, parsePolicy } from "./policy/policy.js";
export { readPolicyFile } from "./policy/policy-file.js";
export {
  type PolicySubject,
  type PolicyRule,
  type PolicyViolation,
  checkPolicy,
  quotaViolation,
  enabledFeatureFlags,
} from "./policy/check-policy.js";
export { SHIPPED_FEATURES } from "./spec/shipped-features.js";
export { runPipeline, pipelineSteps, type StepObserver, type PipelineResult } from "./pipeline/pipeline.js";
export { type PipelineInput, type NodeAgentPort, SNAPSHOT_PREFIX } from "./pipeline/pipeline-context.js";
export { type StepRecord, type StepStatus, mergeStep, changedSteps } from "./pipeline/step-record.js";
export {
  type TlsFiles,
  type AgentTransport,
  agentServerCredentials,
  agentClientCredentials,
  agentChannel,
} from "./grpc/tls-credentials.js";
export { type OpensslOptions, OpensslError } from "./pki/openssl.js";
export { type KeyPairFiles, type PkiLayout, pkiLayout } from "./pki/pki-layout.js";
export { type ClusterCaOptions, type ClusterCa, createClusterCa, loadClusterCa } from "./pki/cluster-ca.js";
export {
  type NodeCertificateOptions,
  type ClientCertificateOptions,
  issueNodeCertificate,
  issueClientCertificate,
} from "./pki/issue-certificate.js";
export { lockstepVersion } from "./version/lockstep-version.js";
export { certificateExpirySeconds } from "./pki/certificate-expiry.js";
