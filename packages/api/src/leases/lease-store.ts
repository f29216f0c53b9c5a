import { randomUUID } from "node:crypto";
import type { RowDataPacket } from "mysql2/promise";
import type { Clock } from "@lockstep/shared";
import { affectedRows, type Database, type Queryable } from "../db/database.js";
import { LeaseLostError } from "./lease-lost-error.js";

/** A lease held: its name, this holding's owner, and the fencing token the work carries. */
export interface Lease {
  readonly name: string;
  readonly owner: string;
  /** Raised at every change of holder; a write fenced by an older token is refused. */
  readonly token: number;
}

/** Checks, inside the work's transaction, that its lease still holds (LeaseStore.fence). */
export type Fence = (tx: Queryable) => Promise<void>;

interface LeaseRow extends RowDataPacket {
  owner: string | null;
  token: number;
  expires_at: Date | null;
}

// How often a caller waiting for a lease asks again.
const WAIT_POLL_MS = 200;

/**
 * "One at a time" across every API process, on one database server or a Galera cluster alike:
 * a row per lease with its holder, an expiry and a fencing token. GET_LOCK cannot do this on
 * Galera (each node grants its own), nor survive a failover. A holder renews before the
 * expiry; a holder that stopped renewing (dead, frozen, cut off) loses the lease once it
 * expires, and whatever it still writes under its old token is refused by `check`.
 * Each holding has an owner of its own, so two holdings in one process exclude each other too.
 */
export class LeaseStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly processOwner: string,
  ) {}

  /** Takes `name` for `ttlMs` when nobody holds it (or its holder's lease expired); null otherwise. */
  async acquire(name: string, ttlMs: number): Promise<Lease | null> {
    const owner = `${this.processOwner}/${randomUUID().slice(0, 8)}`;
    return this.db.transaction(async (tx) => {
      const now = this.clock.now();
      // Takes the row's lock at once, made or found (INSERT IGNORE would take a shared one, and
      // two takers each wanting it exclusive next would deadlock).
      await tx.query(
        "INSERT INTO leases (name, owner, token, expires_at, updated_at) VALUES (?, NULL, 0, NULL, ?) ON DUPLICATE KEY UPDATE name = name",
        [name, new Date(now)],
      );
      const [rows] = await tx.query<LeaseRow[]>(
        "SELECT owner, token, expires_at FROM leases WHERE name = ? FOR UPDATE",
        [name],
      );
      const row = rows[0]!;
      // An earlier attempt of this very transaction committed, and its answer was lost.
      if (row.owner === owner) return { name, owner, token: row.token };
      if (row.owner !== null && row.expires_at !== null && row.expires_at.getTime() > now) return null;
      await tx.query("UPDATE leases SET owner = ?, token = token + 1, expires_at = ?, updated_at = ? WHERE name = ?", [
        owner,
        new Date(now + ttlMs),
        new Date(now),
        name,
      ]);
      return { name, owner, token: row.token + 1 };
    });
  }

  /** Like `acquire`, asking again until `waitMs` has passed. */
  async acquireWithin(name: string, ttlMs: number, waitMs: number): Promise<Lease | null> {
    const deadline = this.clock.now() + waitMs;
    for (;;) {
      const lease = await this.acquire(name, ttlMs);
      if (lease || this.clock.now() >= deadline) return lease;
      await this.clock.sleep(Math.min(WAIT_POLL_MS, deadline - this.clock.now()));
    }
  }

  /**
   * Runs `work` while holding `name`: taken (asking again for up to `waitMs`), renewed every
   * third of `ttlMs` while the work runs, and released after it. Null when another holder kept
   * it. The work fences its writes with `check`: a renewal that fails does not stop it, the
   * fence does.
   */
  async hold<T>(
    name: string,
    timing: { readonly ttlMs: number; readonly waitMs: number },
    work: (lease: Lease) => Promise<T>,
  ): Promise<{ readonly value: T } | null> {
    const lease = await this.acquireWithin(name, timing.ttlMs, timing.waitMs);
    if (!lease) return null;
    const renewal = setInterval(
      () => void this.renew(lease, timing.ttlMs).catch(() => false),
      Math.max(100, Math.floor(timing.ttlMs / 3)),
    );
    try {
      return { value: await work(lease) };
    } finally {
      clearInterval(renewal);
      await this.release(lease).catch(() => undefined);
    }
  }

  /** Extends a lease still held; false when it was lost. */
  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const [result] = await this.db.query(
      "UPDATE leases SET expires_at = ?, updated_at = ? WHERE name = ? AND owner = ? AND token = ?",
      [new Date(now + ttlMs), new Date(now), lease.name, lease.owner, lease.token],
    );
    return affectedRows(result) === 1;
  }

  /** Gives the lease up, if still held, so the next holder need not wait for its expiry. */
  async release(lease: Lease): Promise<void> {
    await this.db.query(
      "UPDATE leases SET owner = NULL, expires_at = NULL, updated_at = ? WHERE name = ? AND owner = ? AND token = ?",
      [new Date(this.clock.now()), lease.name, lease.owner, lease.token],
    );
  }

  /**
   * The fence, inside the work's own transaction: throws LeaseLostError unless `lease` still
   * holds. Its shared row lock keeps a take-over from committing before this transaction does.
   */
  async check(tx: Queryable, lease: Lease): Promise<void> {
    const [rows] = await tx.query<LeaseRow[]>("SELECT owner, token FROM leases WHERE name = ? LOCK IN SHARE MODE", [
      lease.name,
    ]);
    if (rows[0]?.owner !== lease.owner || rows[0]?.token !== lease.token)
      throw new LeaseLostError(lease.name, lease.token);
  }

  /** `check` bound to `lease`, for work that fences each of its transactions. */
  fence(lease: Lease): Fence {
    return (tx) => this.check(tx, lease);
  }
}
