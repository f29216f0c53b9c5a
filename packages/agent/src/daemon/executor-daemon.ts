import { ConfigError, systemClock, type Clock, type Logger } from "@lockstep/shared";
import type { AgentConfig } from "../config/agent-config.js";
import { startExecutorServer } from "../executor/executor-server.js";
import { startNodeRuntime } from "./node-runtime.js";
import { systemUser } from "./system-user.js";

/** A started root executor. */
export interface RunningExecutor {
  readonly socket: string;
  /** Takes no new operations, lets running ones finish (shutdownDrainMs), interrupts the rest, closes. */
  stop(): Promise<void>;
}

/**
 * Boots the root executor: the node side of the agent (node-runtime.ts) behind a Unix socket
 * that only the network process's user reaches. It owns every running `pct`: a restart of the
 * network process neither stops one nor loses its outcome, which a retry of the same request
 * ID collects. It reads its own configuration, the node's policy included, which is root's
 * file: a network process taken over cannot widen what the executor allows.
 */
export async function startExecutor(
  config: AgentConfig,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<RunningExecutor> {
  const socket = config.executor.socket;
  if (!socket) throw new ConfigError("executorSocket is required to run the executor: where it listens for the agent");
  const peer = await systemUser(config.executor.user, "executorUser");
  const runtime = await startNodeRuntime(config, logger, { clock });
  const server = await startExecutorServer({
    socket,
    executor: runtime.executor,
    peer,
    maxMessageBytes: config.transport.maxMessageBytes,
    logger: logger.child({ component: "executor" }),
  });
  logger.info("executor ready", {
    socket,
    peer: peer.name,
    node: config.node,
    pct: config.paths.pct,
    simulate: config.simulate,
    policy: config.policy,
  });
  return {
    socket,
    stop: async () => {
      // The socket stays open while operations drain, so the network process gets their answers.
      const { drained } = await runtime.stop(config.operations.shutdownDrainMs);
      await server.close();
      logger.info("executor stopped", { drained });
    },
  };
}
