import { LockstepError } from "@lockstep/shared";

/**
 * The work's lease was taken over (it expired while the holder stood still, or the database
 * failed over): its writes are refused, since another holder may be doing the same work.
 */
export class LeaseLostError extends LockstepError {
  constructor(
    readonly lease: string,
    token: number,
  ) {
    super("UNAVAILABLE", `lease '${lease}' (token ${token}) is no longer held; another holder took it over`);
  }
}
