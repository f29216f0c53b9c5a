import { createMemoryLogger, type Clock } from "@lockstep/shared";
import { agentDirectory } from "../../src/agents/agent-directory.js";
import { createApp, type AppDeps } from "../../src/app.js";
import { TokenStore } from "../../src/auth/token-store.js";
import { ApiMetrics } from "../../src/metrics/api-metrics.js";
import { idleReconciler } from "./idle-reconciler.js";
import type { Database } from "../../src/db/database.js";

/** The app in process, with every request sent under an admin token. */
export interface TestApp {
  request(path: string, init?: RequestInit): Promise<Response>;
  /** A request exactly as given: no token added. */
  raw(path: string, init?: RequestInit): Promise<Response>;
  readonly tokens: TokenStore;
  /** Every method and path the app routes (middleware left out). */
  readonly routes: readonly { method: string; path: string }[];
  /** The admin token's id: the idempotency scope of `request`. */
  readonly tokenId: string;
}

/** No agent is ever reached in these tests; loopback plaintext keeps them free of certificates. */
export const noAgents = (pool: Database) => agentDirectory(pool, 5_000, { mode: "plaintext-loopback" });

export async function testApp(pool: Database, clock: Clock, deps: Partial<AppDeps> = {}): Promise<TestApp> {
  const tokens = new TokenStore(pool, clock);
  const { token, record } = await tokens.create("test-admin", "admin");
  const app = createApp({
    pool, clock, logger: createMemoryLogger(), idempotencyRetentionMs: 24 * 3600_000, idempotencyAbandonedAfterMs: 60_000,
    vmids: { min: 100, max: 199 }, ports: { min: 20000, max: 20099 }, maxAttempts: 5, snapshotKeepLast: 5,
    agents: noAgents(pool), reconciler: idleReconciler(pool, clock), tokens,
    limits: { maxBodyBytes: 4 * 1024 * 1024, ratePerSecond: 10_000, rateBurst: 10_000 },
    metrics: new ApiMetrics(pool),
    ...deps,
  });
  return {
    tokens,
    tokenId: record.tokenId,
    routes: app.routes.filter((r) => r.method !== "ALL").map(({ method, path }) => ({ method, path })),
    raw: async (path, init) => app.request(path, init),
    request: async (path, init = {}) => app.request(path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) } }),
  };
}
