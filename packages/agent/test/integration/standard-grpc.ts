import { readFileSync } from "node:fs";
import { credentials, type ChannelCredentials, type ClientOptions, type ServiceError } from "@grpc/grpc-js";
import { agentClientCredentials, healthV1 } from "@lockstep/shared";
import type { AgentUnderTest } from "./agent-harness.js";

/**
 * Health probes every second, and a pct that has not answered in 5 s is unresponsive: a
 * simulated `pct list` is a Node start-up, which takes over a second on a loaded machine.
 */
export const FAST_HEALTH = { LOCKSTEP_AGENT_HEALTH_INTERVAL_MS: "1000", LOCKSTEP_AGENT_PROBE_TIMEOUT_MS: "5000" };

/** The channel of the test operator's client certificate (as the node CLI has it). */
export function operatorChannel(agent: AgentUnderTest): {
  credentials: ChannelCredentials;
  channelOptions: ClientOptions;
} {
  const env = agent.cliEnv;
  return agentClientCredentials(
    { ca: env.LOCKSTEP_NODE_CA!, cert: env.LOCKSTEP_NODE_CERT!, key: env.LOCKSTEP_NODE_KEY! },
    agent.node,
  );
}

/** TLS that checks the agent but shows no client certificate. */
export function noClientCertificate(agent: AgentUnderTest): {
  credentials: ChannelCredentials;
  channelOptions: ClientOptions;
} {
  return {
    credentials: credentials.createSsl(readFileSync(agent.cliEnv.LOCKSTEP_NODE_CA!)),
    channelOptions: { "grpc.ssl_target_name_override": agent.node },
  };
}

export function healthClient(agent: AgentUnderTest, channel = operatorChannel(agent)): healthV1.HealthClient {
  return new healthV1.HealthClient(agent.client.target, channel.credentials, channel.channelOptions);
}

/** Check's answer, by name (SERVING, NOT_SERVING), or the call's error. */
export function check(client: healthV1.HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (err: ServiceError | null, res?: healthV1.HealthCheckResponse) =>
      err ? reject(err) : resolve(healthV1.HealthCheckResponse_ServingStatus[res!.status]!),
    ),
  );
}

/**
 * A Watch of `service`: the statuses it has streamed so far, and waits for the ones expected,
 * in order (the stream is the clock: nothing is polled).
 */
export function watch(
  client: healthV1.HealthClient,
  service: string,
): { seen: string[]; next(status: string, withinMs: number): Promise<void>; ended: Promise<void>; cancel(): void } {
  const stream = client.watch({ service });
  const seen: string[] = [];
  // Where the next expected status is looked for: after the last one found.
  let cursor = 0;
  let waiter: { status: string; resolve(): void } | null = null;
  const match = (): void => {
    const at = waiter ? seen.indexOf(waiter.status, cursor) : -1;
    if (at < 0) return;
    cursor = at + 1;
    const found = waiter!;
    waiter = null;
    found.resolve();
  };
  stream.on("data", (res: healthV1.HealthCheckResponse) => {
    seen.push(healthV1.HealthCheckResponse_ServingStatus[res.status]!);
    match();
  });
  const ended = new Promise<void>((resolve) => {
    stream.on("end", resolve);
    stream.on("error", () => resolve());
  });
  return {
    seen,
    next: (status, withinMs) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`Watch sent no ${status} within ${withinMs} ms; it sent ${seen.join(", ") || "nothing"}`)),
          withinMs,
        );
        waiter = { status, resolve: () => (clearTimeout(timer), resolve()) };
        match();
      }),
    ended,
    cancel: () => stream.cancel(),
  };
}
