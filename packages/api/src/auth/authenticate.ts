import type { MiddlewareHandler } from "hono";
import { MissingScopeError, RateLimitedError, UnauthenticatedError } from "../errors.js";
import { grants } from "./api-token.js";
import type { RateLimiter } from "./rate-limiter.js";
import { requiredScope } from "./route-scope.js";
import type { Caller, TokenStore } from "./token-store.js";

export interface AuthVariables {
  caller: Caller;
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * Every request but the health checks: a valid bearer token (401), a scope that covers
 * the route (403), and the token's request rate (429), in that order and before routing.
 */
export function authenticate(
  tokens: TokenStore,
  limiter: RateLimiter,
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) throw new UnauthenticatedError();
    const presented = BEARER.exec(header)?.[1];
    const caller = presented ? await tokens.verify(presented) : null;
    if (!caller) throw new UnauthenticatedError("the API token is invalid or revoked");
    const needed = requiredScope(c.req.method, c.req.path);
    if (!grants(caller.scope, needed)) throw new MissingScopeError(needed, caller.scope);
    const wait = limiter.take(caller.tokenId);
    if (wait > 0) throw new RateLimitedError(wait, limiter.perSecond);
    c.set("caller", caller);
    await next();
  };
}
