import { LockstepError } from "@lockstep/shared";

/** The database refused or could not run what the API needs (schema, connection). */
export class DatabaseError extends LockstepError {
  constructor(message: string, options?: ErrorOptions) {
    super("INTERNAL", message, {}, options);
  }
}

/** One field that broke a rule: where (a JSON pointer into the body) and why. */
export interface FieldProblem {
  readonly pointer: string;
  readonly reason: string;
}

/** A request that breaks the contract; nothing was written. */
export class RequestValidationError extends LockstepError {
  constructor(readonly problems: readonly FieldProblem[]) {
    super("INVALID_ARGUMENT", problems.map((p) => `${p.pointer || "body"}: ${p.reason}`).join("; "));
  }
}

/** The named resource does not exist. */
export class ResourceNotFoundError extends LockstepError {
  constructor(what: string) {
    super("NOT_FOUND", `${what} does not exist`);
  }
}

/** The resource exists already with other settings. */
export class ResourceConflictError extends LockstepError {
  constructor(message: string) {
    super("ALREADY_EXISTS", message);
  }
}

/**
 * The Idempotency-Key was used for a different request (method, path or body), or by
 * another API token: keys are scoped per token, and a key of another token is refused
 * rather than run again, so a retry under a rotated token can never duplicate work.
 */
export class IdempotencyKeyReusedError extends LockstepError {
  constructor(message = "this Idempotency-Key was already used for a different request") {
    super("REQUEST_ID_REUSED", message);
  }
}

/** The first request with this Idempotency-Key is still being handled; retry later. */
export class IdempotencyKeyInFlightError extends LockstepError {
  constructor() {
    super("UNAVAILABLE", "a request with this Idempotency-Key is still being handled; retry shortly");
  }
}

/** The container's state does not allow the request (it is being deleted, for instance). */
export class ContainerStateError extends LockstepError {
  constructor(message: string) {
    super("FAILED_PRECONDITION", message);
  }
}

/** No bearer token, or one that is malformed, unknown or revoked: the reason is never more precise. */
export class UnauthenticatedError extends LockstepError {
  constructor(message = "a valid API token is required (Authorization: Bearer <token>)") {
    super("UNAUTHENTICATED", message);
  }
}

/** The token is valid but its scope does not cover this route; checked before the route runs. */
export class MissingScopeError extends LockstepError {
  constructor(
    readonly needed: string,
    held: string,
  ) {
    super("PERMISSION_DENIED", `this route needs a token with scope '${needed}'; this token has '${held}'`);
  }
}

/** One policy rule a request breaks: the rule's stable name, and where in the request (a JSON pointer). */
export interface RuleBreach {
  readonly rule: string;
  readonly pointer: string;
  readonly reason: string;
}

/**
 * The request asks for more than the caller's policy allows; nothing was written. `rule` is
 * the first rule broken, `breaches` every one, each at its field.
 */
export class PolicyViolationError extends LockstepError {
  constructor(readonly breaches: readonly RuleBreach[]) {
    super(
      "PERMISSION_DENIED",
      `refused by policy: ${breaches.map((b) => `${b.pointer || "the request"}: ${b.reason} (rule ${b.rule})`).join("; ")}`,
      { rule: breaches[0]!.rule },
    );
  }

  get rule(): string {
    return this.breaches[0]!.rule;
  }
}

/** The token sent more requests than its rate allows. */
export class RateLimitedError extends LockstepError {
  constructor(
    readonly retryAfterSeconds: number,
    limit: number,
  ) {
    super(
      "RESOURCE_EXHAUSTED",
      `rate limit of ${limit} requests per second for this token exceeded; retry after ${retryAfterSeconds} s`,
    );
  }
}

/**
 * The request body is not JSON by its Content-Type; nothing was read from it. A validation
 * failure like any other (the Idempotency-Key stays unused), answered 415.
 */
export class UnsupportedMediaTypeError extends RequestValidationError {
  constructor(contentType: string | undefined) {
    super([
      {
        pointer: "/headers/content-type",
        reason: `must be application/json (or a +json type) for a request body, not ${contentType ? JSON.stringify(contentType) : "missing"}`,
      },
    ]);
  }
}

/** The request body is larger than the API accepts. */
export class PayloadTooLargeError extends LockstepError {
  constructor(limit: number) {
    super("RESOURCE_EXHAUSTED", `request body exceeds ${limit} bytes (maxBodyBytes)`);
  }
}

/**
 * The node is in maintenance and takes no new container: a create naming it is refused at
 * once (503 with Retry-After, nothing stored under the Idempotency-Key), so a panel can place
 * the container on another node, or retry the same request once the node is back.
 */
export class NodeInMaintenanceError extends LockstepError {
  constructor(
    readonly node: string,
    readonly since: string,
    readonly reason: string | null,
  ) {
    super(
      "UNAVAILABLE",
      `node '${node}' is in maintenance since ${since}${reason ? ` (${reason})` : ""}; it takes no new container until it leaves maintenance`,
      { node },
    );
  }
}
