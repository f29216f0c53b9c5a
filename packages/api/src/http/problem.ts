import type { Context } from "hono";
import { Type } from "@sinclair/typebox";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { LockstepError, type Logger, type ReasonCode } from "@lockstep/shared";
import { DatabaseUnavailableError } from "../db/database-unavailable-error.js";
import {
  IdempotencyKeyInFlightError,
  NodeInMaintenanceError,
  PayloadTooLargeError,
  PolicyViolationError,
  RateLimitedError,
  RequestValidationError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
} from "../errors.js";

const MAINTENANCE_RETRY_AFTER_S = 60;
// The API itself already retried for its whole budget: a client should not hammer at once.
const DATABASE_RETRY_AFTER_S = 2;

/** HTTP status for each reason code: the only place a domain error becomes a status. */
const STATUS_BY_REASON: Record<ReasonCode, ContentfulStatusCode> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  REQUEST_ID_REUSED: 422,
  RESOURCE_EXHAUSTED: 429,
  COMMAND_FAILED: 502,
  VERIFICATION_FAILED: 502,
  INTERRUPTED: 503,
  LOCK_HELD: 503,
  HYPERVISOR_UNRESPONSIVE: 503,
  UNAVAILABLE: 503,
  INTERNAL: 500,
  OPERATION_RUNNING: 503,
  STATE_STORAGE_FULL: 507,
  FOREIGN_CONTAINER: 409,
  CLUSTER_NO_QUORUM: 503,
};

/**
 * Renders any error as `application/problem+json` (RFC 9457) with Lockstep's stable `code`.
 * Errors that are not domain errors are logged in full and answered without internals.
 */
export function problemResponse(c: Context, err: unknown, logger: Logger): Response {
  const domain = err instanceof LockstepError ? err : null;
  if (!domain)
    logger.error("unexpected error", {
      err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
      path: c.req.path,
      requestId: (c.var as { requestId?: string }).requestId ?? null,
    });
  const { type, status, code } = problemKind(err);
  const body: Record<string, unknown> = {
    type,
    title: code.replace(/_/g, " ").toLowerCase(),
    status,
    detail: domain ? domain.message : "an internal error occurred; it was logged",
    code,
    instance: c.req.path,
    ...problemMembers(err),
  };
  return c.newResponse(JSON.stringify(body), status, {
    "content-type": "application/problem+json",
    ...problemHeaders(err),
  });
}

/** The status, problem type and code an error is answered with: what the OpenAPI document lists, too. */
export function problemKind(err: unknown): {
  readonly type: string;
  readonly status: ContentfulStatusCode;
  readonly code: ReasonCode;
} {
  const code: ReasonCode = err instanceof LockstepError ? err.code : "INTERNAL";
  return {
    type: typeOverride(err) ?? `urn:lockstep:problem:${code.toLowerCase().replace(/_/g, "-")}`,
    status: statusOverride(err) ?? STATUS_BY_REASON[code],
    code,
  };
}

/** Errors that share their code with other outages, each with its own `type`. */
function typeOverride(err: unknown): string | null {
  if (err instanceof UnsupportedMediaTypeError) return "urn:lockstep:problem:unsupported-media-type";
  if (err instanceof NodeInMaintenanceError) return "urn:lockstep:problem:node-in-maintenance";
  if (err instanceof PolicyViolationError) return "urn:lockstep:problem:policy-violation";
  if (err instanceof DatabaseUnavailableError) return "urn:lockstep:problem:database-unavailable";
  return null;
}

/** Where one reason code covers several HTTP statuses. */
function statusOverride(err: unknown): ContentfulStatusCode | null {
  // An in-flight key is a transient conflict: 409 is what clients (Stripe's SDKs) retry.
  if (err instanceof IdempotencyKeyInFlightError) return 409;
  if (err instanceof PayloadTooLargeError) return 413;
  if (err instanceof UnsupportedMediaTypeError) return 415;
  return null;
}

/**
 * Members beyond RFC 9457's own, for errors a client acts on by more than the code: which
 * fields broke which rule; which node is in maintenance, since when and why.
 */
function problemMembers(err: unknown): Record<string, unknown> {
  if (err instanceof RequestValidationError) return { errors: err.problems };
  if (err instanceof PolicyViolationError) return { rule: err.rule, violations: err.breaches };
  if (err instanceof NodeInMaintenanceError)
    return { node: err.node, maintenance: { since: err.since, reason: err.reason } };
  return {};
}

/** Every problem document, as JSON Schema: `Problem` in the OpenAPI document. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: "urn:lockstep:problem:<kind>: what a client branches on" }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    code: Type.Union(
      (Object.keys(STATUS_BY_REASON) as ReasonCode[]).map((code) => Type.Literal(code)),
      { description: "Lockstep's stable reason code" },
    ),
    instance: Type.String({ description: "the request's path" }),
    errors: Type.Optional(
      Type.Array(
        Type.Object(
          {
            pointer: Type.String({
              description: "JSON pointer into the request: /path/..., /query/..., /headers/... or the body",
            }),
            reason: Type.String(),
          },
          { additionalProperties: false },
        ),
        { description: "each field that broke a rule (invalid-argument, unsupported-media-type)" },
      ),
    ),
    rule: Type.Optional(Type.String({ description: "the first policy rule the request breaks (policy-violation)" })),
    violations: Type.Optional(
      Type.Array(
        Type.Object(
          {
            rule: Type.String({ description: "the rule's stable name: privileged, apparmor_profile, max_cores..." }),
            pointer: Type.String({ description: "JSON pointer into the body; empty: the request as a whole" }),
            reason: Type.String(),
          },
          { additionalProperties: false },
        ),
        { description: "every policy rule the request breaks (policy-violation)" },
      ),
    ),
    node: Type.Optional(Type.String({ description: "the node in maintenance (node-in-maintenance)" })),
    maintenance: Type.Optional(
      Type.Object(
        { since: Type.String(), reason: Type.Union([Type.String(), Type.Null()]) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: "RFC 9457 problem document with Lockstep's stable `code`" },
);

function problemHeaders(err: unknown): Record<string, string> {
  if (err instanceof IdempotencyKeyInFlightError) return { "retry-after": "1" };
  // A node's maintenance lasts minutes to hours: a minute is a sensible first wait.
  if (err instanceof NodeInMaintenanceError) return { "retry-after": String(MAINTENANCE_RETRY_AFTER_S) };
  if (err instanceof DatabaseUnavailableError) return { "retry-after": String(DATABASE_RETRY_AFTER_S) };
  if (err instanceof RateLimitedError) return { "retry-after": String(err.retryAfterSeconds) };
  if (err instanceof UnauthenticatedError) return { "www-authenticate": 'Bearer realm="lockstep"' };
  return {};
}
