import { ResourceExhaustedError, UnavailableError } from "../errors.js";

/**
 * How many mutating operations run at once on this node. Beyond the limit a new one is
 * refused at once, before anything is recorded, so the same request ID works on a later
 * retry; replays of finished requests never count. While draining for shutdown, every new
 * operation is refused.
 */
export class OperationAdmission {
  private running = 0;
  private draining = false;

  constructor(
    private readonly node: string,
    private readonly limit: number,
  ) {}

  /** Takes a slot; the returned function gives it back (once). */
  enter(): () => void {
    if (this.draining) throw new UnavailableError("the agent is shutting down; retry with the same request ID");
    if (this.running >= this.limit) {
      throw new ResourceExhaustedError(
        `node ${this.node} is already running ${this.running} operations (maxConcurrentOperations); retry later with the same request ID`,
        { limit: String(this.limit) },
      );
    }
    this.running += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
    };
  }

  /** Refuses new operations from now on; running ones finish. */
  drain(): void {
    this.draining = true;
  }

  get inUse(): number {
    return this.running;
  }
}
