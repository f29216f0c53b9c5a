import { withinBound } from "../node/within-bound.js";

/**
 * The node's health for a scrape, from the probe the Health RPC runs (health/node-probe.ts),
 * never a prober of its own: one probe at a time however many gauges or scrapers ask, and a
 * scrape waits for it at most `waitMs`, then takes the last answer. The probe is bounded by its
 * own timeout, so a hung `pct` or pmxcfs shows within that bound plus one scrape.
 */
export class HealthSampler<T> {
  private running: Promise<T> | null = null;
  private last: { value: T; atMs: number } | null = null;

  constructor(
    private readonly probe: () => Promise<T>,
    private readonly waitMs: number,
    /** An answer younger than this serves every gauge of one scrape. */
    private readonly freshMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The newest answer, or null while there has never been one. */
  async read(): Promise<T | null> {
    if (this.last && this.now() - this.last.atMs < this.freshMs) return this.last.value;
    const running = (this.running ??= this.start());
    // The first answer is worth its whole wait: there is nothing else to report.
    await (this.last ? withinBound(running, this.waitMs, null) : running).catch(() => null);
    return this.last?.value ?? null;
  }

  private start(): Promise<T> {
    return this.probe()
      .then((value) => {
        this.last = { value, atMs: this.now() };
        return value;
      })
      .finally(() => (this.running = null));
  }
}
