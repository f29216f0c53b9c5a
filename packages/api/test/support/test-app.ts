import { createMemoryLogger, DEFAULT_POLICY, type Clock } from "@lockstep/shared";
import { createApp, type AppDeps } from "../../src/app.js";
import { TokenStore } from "../../src/auth/token-store.js";
import { ApiMetrics } from "../../src/metrics/api-metrics.js";
import { idleReconciler } from "./idle-reconciler.js";
import { noAgents } from "./no-agents.js";
import { checkResponse } from "./openapi-contract.js";
import type { Database } from "../../src/db/database.js";

/**
 * The app in process, with every request sent under an admin token. Every response is checked
 * against the OpenAPI document (status, content type, body), so each API test also tests the
 * contract.
 */
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

export async function testApp(pool: Database, clock: Clock, deps: Partial<AppDeps> = {}): Promise<TestApp> {
  const tokens = new TokenStore(pool, clock);
  const { token, record } = await tokens.create("test-admin", "admin");
  const app = createApp({
    pool,
    clock,
    logger: createMemoryLogger(),
    idempotencyRetentionMs: 24 * 3600_000,
    idempotencyAbandonedAfterMs: 60_000,
    vmids: { min: 100, max: 199 },
    ports: { min: 20000, max: 20099 },
    maxAttempts: 5,
    snapshotKeepLast: 5,
    policy: DEFAULT_POLICY,
    agents: noAgents(pool),
    reconciler: idleReconciler(pool, clock),
    tokens,
    limits: { maxBodyBytes: 4 * 1024 * 1024, ratePerSecond: 10_000, rateBurst: 10_000 },
    metrics: new ApiMetrics(pool),
    ...deps,
  });
  return {
    tokens,
    tokenId: record.tokenId,
    routes: app.routes.filter((r) => r.method !== "ALL").map(({ method, path }) => ({ method, path })),
    raw: async (path, init) => checked(path, init, await app.request(path, init)),
    request: async (path, init = {}) =>
      checked(
        path,
        init,
        await app.request(path, {
          ...init,
          headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
        }),
      ),
  };
}

async function checked(path: string, init: RequestInit | undefined, res: Response): Promise<Response> {
  await checkResponse(init?.method ?? "GET", path, res);
  return res;
}
