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

/** The Idempotency-Key was used for a different request (method, path or body). */
export class IdempotencyKeyReusedError extends LockstepError {
  constructor() {
    super("REQUEST_ID_REUSED", "this Idempotency-Key was already used for a different request");
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
