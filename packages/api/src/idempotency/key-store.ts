import type { RowDataPacket } from "mysql2/promise";
import type { Clock } from "@lockstep/shared";
import { IdempotencyKeyInFlightError, IdempotencyKeyReusedError } from "../errors.js";
import { affectedRows, type Database, type Queryable } from "../db/database.js";
import { duplicateKey } from "../db/database-failure.js";

/** A stored response, replayed byte for byte. */
export interface StoredResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export interface KeyIdentity {
  /** This request's claim on the key, unique per request (not per attempt). */
  readonly claimToken: string;
  readonly scope: string;
  readonly key: string;
  readonly method: string;
  readonly path: string;
  readonly fingerprint: string;
}

interface KeyRow extends RowDataPacket {
  scope: string;
  method: string;
  path: string;
  fingerprint: string;
  state: "in_flight" | "done";
  claim_token: string | null;
  response_status: number | null;
  response_headers: string | Record<string, string> | null;
  response_body: Buffer | null;
  created_at: Date;
  expires_at: Date;
}

export interface KeyStoreOptions {
  readonly retentionMs: number;
  /** An in-flight key older than this belongs to a process that died: it may be taken over. */
  readonly abandonedAfterMs: number;
}

/**
 * The Idempotency-Key records. `claim` either hands back a finished response to replay, or
 * marks the key in flight for this request (committed at once, so a concurrent duplicate
 * sees it and gets 409), or refuses a key used for another request (422).
 */
export class KeyStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly options: KeyStoreOptions,
  ) {}

  /**
   * Keys are unique across tokens but answered only to the token that sent them first.
   * A new key (nearly every request) is claimed by one insert, committed at once. A key
   * already there is judged: a finished one from a plain read, anything else under its row
   * lock.
   */
  async claim(id: KeyIdentity): Promise<StoredResponse | null> {
    const now = this.clock.now();
    try {
      await this.insertInFlight(this.db, id, now, "");
      return null;
    } catch (err) {
      if (duplicateKey(err) === null) throw err;
    }
    // A finished key (a replay, the next most common case) is answered from a plain read: its
    // row changes no more until it expires.
    const [rows] = await this.db.query<KeyRow[]>("SELECT * FROM idempotency_keys WHERE idem_key = ?", [id.key]);
    const done = rows[0]?.state === "done" && rows[0].expires_at.getTime() > now ? this.judge(rows[0], id, now) : null;
    if (done && done !== "take-over") return done;
    return this.db.transaction(async (conn) => {
      // Taking the row lock whether or not the row is still there: a plain insert meeting a
      // duplicate takes a shared lock, and two duplicates each wanting it exclusive next
      // would deadlock.
      await this.insertInFlight(conn, id, now, " ON DUPLICATE KEY UPDATE idem_key = idem_key");
      const [rows] = await conn.query<KeyRow[]>("SELECT * FROM idempotency_keys WHERE idem_key = ? FOR UPDATE", [
        id.key,
      ]);
      const row = rows[0]!;
      // Made by this claim, in the insert above or by an earlier attempt whose answer was lost.
      if (row.state === "in_flight" && row.claim_token === id.claimToken) return null;
      const outcome = row.expires_at.getTime() > now ? this.judge(row, id, now) : "take-over";
      if (outcome !== "take-over") return outcome;
      await this.retake(conn, id, now);
      return null;
    });
  }

  private judge(row: KeyRow, id: KeyIdentity, now: number): StoredResponse | "take-over" {
    if (row.scope !== id.scope)
      throw new IdempotencyKeyReusedError("this Idempotency-Key was already used by another API token");
    if (row.method !== id.method || row.path !== id.path || row.fingerprint !== id.fingerprint)
      throw new IdempotencyKeyReusedError();
    if (row.state === "done") return storedResponse(row);
    if (now - row.created_at.getTime() < this.options.abandonedAfterMs) throw new IdempotencyKeyInFlightError();
    return "take-over";
  }

  private async insertInFlight(conn: Queryable, id: KeyIdentity, now: number, onDuplicate: string): Promise<void> {
    await conn.query(
      `INSERT INTO idempotency_keys (scope, idem_key, method, path, fingerprint, state, claim_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?, 'in_flight', ?, ?, ?)${onDuplicate}`,
      [
        id.scope,
        id.key,
        id.method,
        id.path,
        id.fingerprint,
        id.claimToken,
        new Date(now),
        new Date(now + this.options.retentionMs),
      ],
    );
  }

  /** An expired key, or one abandoned in flight by a dead process, starts over for this request. */
  private async retake(conn: Queryable, id: KeyIdentity, now: number): Promise<void> {
    await conn.query(
      "UPDATE idempotency_keys SET scope = ?, method = ?, path = ?, fingerprint = ?, state = 'in_flight', claim_token = ?, response_status = NULL, response_headers = NULL, response_body = NULL, created_at = ?, expires_at = ? WHERE idem_key = ?",
      [
        id.scope,
        id.method,
        id.path,
        id.fingerprint,
        id.claimToken,
        new Date(now),
        new Date(now + this.options.retentionMs),
        id.key,
      ],
    );
  }

  /**
   * The stored answer when the key's request already committed, read with the key's row lock
   * in the caller's transaction: an attempt whose COMMIT was lost may still have committed.
   */
  async finished(tx: Queryable, id: KeyIdentity): Promise<StoredResponse | null> {
    const [rows] = await tx.query<KeyRow[]>("SELECT * FROM idempotency_keys WHERE idem_key = ? FOR UPDATE", [id.key]);
    const row = rows[0];
    if (row?.state === "done" && row.claim_token === id.claimToken) return storedResponse(row);
    // Taken over (this request was thought abandoned) or purged: another request owns the key now.
    if (row?.claim_token !== id.claimToken) throw new IdempotencyKeyInFlightError();
    return null;
  }

  /**
   * Stores the response inside the handler's own transaction: records and key commit
   * together. A claim taken over meanwhile (this request was thought abandoned) or purged
   * stores nothing and throws, so the caller's transaction rolls back.
   */
  async complete(tx: Queryable, id: KeyIdentity, response: StoredResponse): Promise<StoredResponse> {
    const [result] = await tx.query(
      "UPDATE idempotency_keys SET state = 'done', response_status = ?, response_headers = ?, response_body = ? WHERE idem_key = ? AND claim_token = ? AND state = 'in_flight'",
      [response.status, JSON.stringify(response.headers), response.body, id.key, id.claimToken],
    );
    if (affectedRows(result) !== 1) throw new IdempotencyKeyInFlightError();
    return response;
  }

  /** Deletes keys past their retention (a bounded batch per call); returns how many. */
  async purgeExpired(batch = 1000): Promise<number> {
    const [result] = await this.db.query("DELETE FROM idempotency_keys WHERE expires_at < ? LIMIT ?", [
      new Date(this.clock.now()),
      batch,
    ]);
    return affectedRows(result);
  }

  /** Frees a key whose request stored nothing (invalid body, internal failure): it stays usable. */
  async release(id: KeyIdentity): Promise<void> {
    await this.db.query("DELETE FROM idempotency_keys WHERE idem_key = ? AND claim_token = ? AND state = 'in_flight'", [
      id.key,
      id.claimToken,
    ]);
  }
}

function storedResponse(row: KeyRow): StoredResponse {
  const headers =
    typeof row.response_headers === "string"
      ? (JSON.parse(row.response_headers) as Record<string, string>)
      : (row.response_headers ?? {});
  return { status: row.response_status ?? 500, headers, body: row.response_body ?? Buffer.alloc(0) };
}
