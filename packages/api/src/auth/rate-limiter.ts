import type { Clock } from "@lockstep/shared";

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * A token bucket per caller: `perSecond` requests on average, bursts up to `burst`. Per API
 * process: N processes behind a balancer allow N times the rate, which bounds abuse without
 * a database write per request.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** 0 when the request may go ahead, else the whole seconds to wait. */
  take(caller: string): number {
    const now = this.clock.now();
    const bucket = this.refill(caller, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  private refill(caller: string, now: number): Bucket {
    const bucket = this.buckets.get(caller) ?? { tokens: this.burst, updatedMs: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.perSecond);
    bucket.updatedMs = now;
    this.buckets.set(caller, bucket);
    return bucket;
  }
}
