import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { type Logger, withLogFields } from "@lockstep/shared";

export interface RequestIdVariables {
  requestId: string;
}

// A caller's own ID is kept when it is safe to log; anything else gets a fresh one.
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * One JSON line per request with its request ID (the caller's `X-Request-Id`, or a new
 * one), echoed in the response so a caller can quote it. Never the headers or the body:
 * they hold tokens and specs.
 */
export function accessLog(logger: Logger): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set("requestId", requestId);
    const started = performance.now();
    // Every line written while the request is handled carries its ID.
    await withLogFields({ requestId }, next);
    c.res.headers.set("x-request-id", requestId);
    const caller = (c.var as { caller?: { tokenId: string } }).caller;
    logger.info("request", {
      requestId,
      method: c.req.method,
      route: routePath(c, -1),
      status: c.res.status,
      ms: Math.round(performance.now() - started),
      caller: caller?.tokenId ?? null,
    });
  };
}
