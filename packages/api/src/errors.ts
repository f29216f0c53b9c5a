import { LockstepError } from "@lockstep/shared";

/** The database refused or could not run what the API needs (schema, connection). */
export class DatabaseError extends LockstepError {
  constructor(message: string, options?: ErrorOptions) {
    super("INTERNAL", message, {}, options);
  }
}
