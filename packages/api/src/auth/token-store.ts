import type { RowDataPacket } from "mysql2/promise";
import { LockstepError, parsePolicy, type Clock, type Policy } from "@lockstep/shared";
import { newToken, parseToken, secretDigest, secretMatches, type Scope } from "./api-token.js";
import { affectedRows, type Database } from "../db/database.js";

/** Who made a request: the token's public id, its name, scope and policy (null: the API's global one). */
export interface Caller {
  readonly tokenId: string;
  readonly name: string;
  readonly scope: Scope;
  readonly policy: Policy | null;
}

/** A token as listed: never its secret, which exists only in the creator's hands. */
export interface TokenRecord extends Caller {
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

interface TokenRow extends RowDataPacket {
  id: string;
  name: string;
  scope: Scope;
  secret_sha256: Buffer;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  policy: string | Record<string, unknown> | null;
}

// Marking every request would make each read a write; a minute is precise enough for audits.
const LAST_USED_RESOLUTION_MS = 60_000;

/** API tokens in MySQL, stored hashed; created and revoked by `lockstep-api token`. */
export class TokenStore {
  constructor(
    private readonly pool: Database,
    private readonly clock: Clock,
  ) {}

  async create(
    name: string,
    scope: Scope,
    policy: Policy | null = null,
  ): Promise<{ record: TokenRecord; token: string }> {
    const token = newToken();
    const now = new Date(this.clock.now());
    await this.pool.query(
      "INSERT INTO api_tokens (id, name, scope, secret_sha256, created_at, policy) VALUES (?, ?, ?, ?, ?, ?)",
      [token.id, name, scope, secretDigest(token.secret), now, policy ? JSON.stringify(policy) : null],
    );
    return {
      record: {
        tokenId: token.id,
        name,
        scope,
        policy,
        createdAt: now.toISOString(),
        lastUsedAt: null,
        revokedAt: null,
      },
      token: token.text,
    };
  }

  /**
   * Gives a token a policy of its own, or (null) the global one again; true when the token
   * exists. Its next request is judged by it; its containers' compliance too.
   */
  async setPolicy(id: string, policy: Policy | null): Promise<boolean> {
    const [result] = await this.pool.query("UPDATE api_tokens SET policy = ? WHERE id = ?", [
      policy ? JSON.stringify(policy) : null,
      id,
    ]);
    return affectedRows(result) === 1;
  }

  async list(): Promise<TokenRecord[]> {
    const [rows] = await this.pool.query<TokenRow[]>("SELECT * FROM api_tokens ORDER BY created_at, id");
    return rows.map(toRecord);
  }

  /** True when the token was live and is now revoked; revoking twice is harmless. */
  async revoke(id: string): Promise<boolean> {
    const [result] = await this.pool.query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [
      new Date(this.clock.now()),
      id,
    ]);
    return affectedRows(result) === 1;
  }

  /** The caller a bearer token stands for, or null when it is malformed, unknown or revoked. */
  async verify(text: string): Promise<Caller | null> {
    const parts = parseToken(text);
    if (!parts) return null;
    const [rows] = await this.pool.query<TokenRow[]>("SELECT * FROM api_tokens WHERE id = ?", [parts.id]);
    const row = rows[0];
    if (!row || row.revoked_at !== null || !secretMatches(parts.secret, row.secret_sha256)) return null;
    await this.markUsed(row);
    return { tokenId: row.id, name: row.name, scope: row.scope, policy: storedPolicy(row) };
  }

  private async markUsed(row: TokenRow): Promise<void> {
    const now = this.clock.now();
    if (row.last_used_at && now - row.last_used_at.getTime() < LAST_USED_RESOLUTION_MS) return;
    await this.pool.query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [new Date(now), row.id]);
  }
}

function toRecord(row: TokenRow): TokenRecord {
  return {
    tokenId: row.id,
    name: row.name,
    scope: row.scope,
    policy: storedPolicy(row),
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}

// Parsed once per distinct text: a token's policy is read with every request it makes.
const parsed = new Map<string, Policy>();
const MAX_PARSED = 1024;

/** A token's policy as stored (written by `setPolicy` or `create`, defaults applied); null: none of its own. */
export function storedPolicy(row: { id: string; policy: string | Record<string, unknown> | null }): Policy | null {
  if (row.policy === null) return null;
  const text = typeof row.policy === "string" ? row.policy : JSON.stringify(row.policy);
  let policy = parsed.get(text);
  if (!policy) {
    try {
      policy = parsePolicy(JSON.parse(text), `the policy of token ${row.id}`);
    } catch (err) {
      // Written checked, so only a hand edit gets here: the token is refused rather than judged by less.
      throw new LockstepError("INTERNAL", err instanceof Error ? err.message : String(err));
    }
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(text, policy);
  }
  return policy;
}
