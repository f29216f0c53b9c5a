import net from "node:net";
import { createTestDatabase, type TestDatabase } from "../../packages/api/test/support/test-database.js";
import { post, startApi, type ApiUnderTest } from "../../test/support/cluster.js";

const TEN_MINUTES = String(10 * 60_000);

/** A real API process on a fresh database whose dispatcher runs (almost) nothing. */
export interface IdleDispatchApi {
  readonly db: TestDatabase;
  readonly api: ApiUnderTest;
  stop(): Promise<void>;
}

/**
 * A real API process on a fresh database (on the project's MariaDB, or on `server`), with `nodes` registered at an address that accepts
 * TCP connections and never answers, and a dispatch concurrency of one: the dispatcher claims
 * one job, whose agent call hangs, and then has no room to claim more. Measurements of the
 * HTTP path (create, replay, read) then see neither job execution nor `pct` processes
 * competing for the machine's CPUs; job execution has its own benchmark (end-to-end.ts).
 */
export async function startIdleDispatchApi(nodes: readonly string[], server?: string): Promise<IdleDispatchApi> {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const { port } = silent.address() as net.AddressInfo;
  const db = await createTestDatabase(server);
  const api = await startApi(db.url, {
    LOCKSTEP_API_DISPATCH_CONCURRENCY: "1",
    LOCKSTEP_API_AGENT_CALL_TIMEOUT_MS: TEN_MINUTES,
    LOCKSTEP_API_JOB_BACKOFF_BASE_MS: TEN_MINUTES,
    LOCKSTEP_API_JOB_BACKOFF_MAX_MS: TEN_MINUTES,
    LOCKSTEP_API_HEALTH_INTERVAL_MS: TEN_MINUTES,
    LOCKSTEP_API_RECONCILE_INTERVAL_MS: String(24 * 60 * 60_000),
    // The one hung job must not hold the shutdown for the default 30 s.
    LOCKSTEP_API_SHUTDOWN_DRAIN_MS: "2000",
  });
  for (const name of nodes) {
    const res = await post(api, "/v1/nodes", { name, address: `127.0.0.1:${port}` }, `register-${name}`);
    if (res.status !== 201) throw new Error(`registering ${name}: ${res.status} ${await res.text()}`);
  }
  return {
    db,
    api,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await api.stop();
      await db.drop();
    },
  };
}
