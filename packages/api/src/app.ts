import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Clock, Logger, Policy } from "@lockstep/shared";
import { authenticate, type AuthVariables } from "./auth/authenticate.js";
import { RateLimiter } from "./auth/rate-limiter.js";
import type { TokenStore } from "./auth/token-store.js";
import type { ApiMetrics } from "./metrics/api-metrics.js";
import { PayloadTooLargeError, ResourceNotFoundError } from "./errors.js";
import { accessLog, type RequestIdVariables } from "./http/access-log.js";
import { openApiDocument } from "./openapi.js";
import { problemResponse } from "./http/problem.js";
import { idempotency, type IdempotencyVariables } from "./idempotency/idempotency-middleware.js";
import { KeyStore } from "./idempotency/key-store.js";
import { nodeRoutes } from "./nodes/node-routes.js";
import type { PortRange } from "./allocation/allocate-ports.js";
import type { VmidRange } from "./allocation/vmid-allocator.js";
import type { AgentDirectory } from "./agents/agent-directory.js";
import { containerRoutes } from "./containers/container-routes.js";
import { operationRoutes } from "./operations/operation-routes.js";
import { incidentRoutes } from "./incidents/incident-routes.js";
import { reconcileRoutes } from "./reconcile/reconcile-routes.js";
import type { Reconciler } from "./reconcile/reconciler.js";
import type { Database } from "./db/database.js";

export interface AppDeps {
  readonly pool: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly idempotencyRetentionMs: number;
  readonly idempotencyAbandonedAfterMs: number;
  readonly vmids: VmidRange;
  readonly ports: PortRange;
  /** Attempts a job gets before it is marked failed. */
  readonly maxAttempts: number;
  /** Lockstep snapshots kept per container unless its spec says otherwise. */
  readonly snapshotKeepLast: number;
  /** What a token without a policy of its own may ask for (docs/policy.md). */
  readonly policy: Policy;
  /** Called after a write committed (the dispatcher wakes instead of waiting for its poll). */
  readonly afterCommit?: () => void;
  readonly agents: AgentDirectory;
  readonly reconciler: Reconciler;
  readonly tokens: TokenStore;
  readonly limits: HttpLimits;
  readonly metrics: ApiMetrics;
}

/** What one caller may send. */
export interface HttpLimits {
  readonly maxBodyBytes: number;
  /** Requests per second per token, on average, and the burst allowed above it. */
  readonly ratePerSecond: number;
  readonly rateBurst: number;
}

type Env = { Variables: IdempotencyVariables & AuthVariables & RequestIdVariables };

/** The HTTP API as a Hono app: tested in-process with `app.request()`, served by main.ts. */
export function createApp(
  deps: AppDeps,
  keys = new KeyStore(deps.pool, deps.clock, {
    retentionMs: deps.idempotencyRetentionMs,
    abandonedAfterMs: deps.idempotencyAbandonedAfterMs,
  }),
): Hono<Env> {
  const app = new Hono<Env>();
  app.onError((err, c) => problemResponse(c, err, deps.logger));
  app.notFound((c) =>
    problemResponse(c, new ResourceNotFoundError(`route ${c.req.method} ${c.req.path}`), deps.logger),
  );
  app.use("*", accessLog(deps.logger.child({ component: "http" })));
  app.use("*", deps.metrics.middleware());
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    try {
      await deps.pool.query("SELECT 1");
      return c.json({ status: "ready" });
    } catch {
      return c.json({ status: "database unreachable" }, 503);
    }
  });
  // Everything below the health checks needs a token, unknown paths included: without one,
  // nobody learns which routes or resources exist.
  app.use(
    "*",
    authenticate(deps.tokens, new RateLimiter(deps.clock, deps.limits.ratePerSecond, deps.limits.rateBurst)),
  );
  app.use(
    "*",
    bodyLimit({
      maxSize: deps.limits.maxBodyBytes,
      onError: () => {
        throw new PayloadTooLargeError(deps.limits.maxBodyBytes);
      },
    }),
  );
  const openapi = openApiDocument();
  app.get("/openapi.json", (c) => c.json(openapi));
  app.get("/metrics", async (c) =>
    c.body(await deps.metrics.registry.metrics(), 200, { "content-type": deps.metrics.registry.contentType }),
  );
  app.use(
    "/v1/*",
    idempotency(deps.pool, keys, (c) => (c.get("caller") as AuthVariables["caller"]).tokenId, deps.afterCommit),
  );
  app.route("/v1/nodes", nodeRoutes(deps.pool, deps.clock, deps.agents));
  app.route("/v1/containers", containerRoutes(deps));
  app.route("/v1/operations", operationRoutes(deps.pool, deps.clock));
  app.route("/v1/incidents", incidentRoutes(deps.pool));
  app.route("/v1", reconcileRoutes(deps.pool, deps.reconciler, deps.agents));
  return app;
}
