import type { ChannelCredentials, ClientOptions } from "@grpc/grpc-js";
import { AgentClient, agentChannel, type AgentTransport } from "@lockstep/shared";
import { UsageError } from "./commands.js";

export interface ConnectionFlags {
  readonly target?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly "server-name"?: string;
  readonly plaintext?: boolean;
}

/** Where the agent is and how to reach it: what any gRPC client of it is made from. */
export interface AgentEndpoint {
  readonly target: string;
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ClientOptions;
}

/**
 * The agent of one CLI run: mutual TLS with a client certificate from the cluster CA (flags,
 * else LOCKSTEP_NODE_CA/_CERT/_KEY), unless --plaintext names a loopback agent running with
 * transport plaintext-loopback.
 */
export function agentEndpoint(flags: ConnectionFlags, env: NodeJS.ProcessEnv): AgentEndpoint {
  const target = flags.target ?? env.LOCKSTEP_NODE_TARGET ?? "127.0.0.1:7000";
  const plaintext = flags.plaintext === true || env.LOCKSTEP_NODE_TRANSPORT === "plaintext-loopback";
  const transport: AgentTransport = plaintext
    ? { mode: "plaintext-loopback" }
    : { mode: "mtls", tls: tlsFiles(flags, env) };
  const serverName = flags["server-name"] ?? env.LOCKSTEP_NODE_SERVER_NAME ?? null;
  return { target, ...agentChannel(transport, target, serverName) };
}

/** The NodeAgent client of one CLI run (see agentEndpoint). */
export function connectToAgent(flags: ConnectionFlags, env: NodeJS.ProcessEnv): AgentClient {
  const { target, ...channel } = agentEndpoint(flags, env);
  return new AgentClient(target, channel);
}

function tlsFiles(flags: ConnectionFlags, env: NodeJS.ProcessEnv): { ca: string; cert: string; key: string } {
  const ca = flags.ca ?? env.LOCKSTEP_NODE_CA;
  const cert = flags.cert ?? env.LOCKSTEP_NODE_CERT;
  const key = flags.key ?? env.LOCKSTEP_NODE_KEY;
  const missing = [
    !ca && "--ca (LOCKSTEP_NODE_CA)",
    !cert && "--cert (LOCKSTEP_NODE_CERT)",
    !key && "--key (LOCKSTEP_NODE_KEY)",
  ].filter(Boolean);
  if (missing.length > 0)
    throw new UsageError(
      `the agent needs a client certificate from the cluster CA: set ${missing.join(", ")} (see lockstep-pki client)`,
    );
  return { ca: ca!, cert: cert!, key: key! };
}
