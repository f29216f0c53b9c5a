import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { ConfigError } from "@lockstep/shared";

/**
 * `GET /metrics` on its own plain-HTTP listener, apart from the gRPC port: Prometheus
 * scrapes it without a client certificate, and it carries counts only, never node data.
 */
export async function startMetricsServer(
  listen: string,
  registry: Registry,
): Promise<{ address: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics failed\n"),
    );
  });
  const host = listen.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  await new Promise<void>((resolve, reject) =>
    server.once("error", reject).listen(Number(listen.split(":").pop()), host, resolve),
  ).catch((err: unknown) => {
    throw new ConfigError(
      `metricsListen ${listen} cannot be bound: ${err instanceof Error ? err.message : String(err)} (several agents on one host need a metricsListen each, or an empty one for no metrics listener)`,
    );
  });
  const bound = server.address() as { port: number };
  return {
    address: `${listen.replace(/:\d+$/, "")}:${bound.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
