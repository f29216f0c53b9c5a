import type { Context, MiddlewareHandler } from "hono";
import type { Pool, PoolConnection } from "mysql2/promise";
import { RequestValidationError } from "../errors.js";
import { requestFingerprint } from "./fingerprint.js";
import type { KeyIdentity, KeyStore, StoredResponse } from "./key-store.js";

/** What handlers of POST and DELETE get: the transaction their writes and the key commit in. */
export interface IdempotencyVariables {
  tx: PoolConnection;
}

const KEY = /^[\x21-\x7e]{1,255}$/;
// Headers a replay must carry again; the rest are per-response.
const KEPT_HEADERS = ["content-type", "location"];

/**
 * Idempotency-Key semantics of the IETF draft and Stripe, for every POST and DELETE, with
 * keys scoped by `scopeOf` (the API token):
 * missing key → 400; same key and request → the first response replayed byte for byte; same
 * key, other request → 422; same key while the first is in flight → 409 with Retry-After.
 * The handler's writes and the stored response commit in ONE transaction, so a crash
 * leaves either both or neither; a request that fails validation or internally stores
 * nothing and leaves the key usable.
 */
export function idempotency(pool: Pool, keys: KeyStore, scopeOf: (c: Context) => string, afterCommit: () => void = () => undefined): MiddlewareHandler<{ Variables: IdempotencyVariables }> {
  return async (c, next) => {
    if (c.req.method !== "POST" && c.req.method !== "DELETE") return next();
    const key = c.req.header("idempotency-key");
    if (key === undefined) throw new RequestValidationError([{ pointer: "/headers/idempotency-key", reason: "is required on POST and DELETE" }]);
    if (!KEY.test(key)) throw new RequestValidationError([{ pointer: "/headers/idempotency-key", reason: "must be 1 to 255 visible ASCII characters" }]);
    const body = await c.req.text();
    const id: KeyIdentity = { scope: scopeOf(c), key, method: c.req.method, path: c.req.path, fingerprint: requestFingerprint(c.req.method, c.req.path, body) };
    const stored = await keys.claim(id);
    if (stored) return replay(stored, true);

    const tx = await pool.getConnection();
    let committed = false;
    try {
      await tx.beginTransaction();
      c.set("tx", tx);
      await next();
      if (c.error instanceof RequestValidationError || c.res.status >= 500) return;
      if (c.error) {
        // A refused request (404, 409...) is stored and replayed, but nothing it wrote is kept.
        await tx.rollback();
        await tx.beginTransaction();
      }
      const response = await snapshot(c.res);
      await keys.complete(tx, id, response);
      await tx.commit();
      committed = true;
      afterCommit();
      // The body was consumed into the record: answer from the record, as a replay will.
      c.res = undefined;
      c.res = replay(response, false);
    } finally {
      if (!committed) {
        await tx.rollback().catch(() => undefined);
        await keys.release(id);
      }
      tx.release();
    }
  };
}

async function snapshot(res: Response): Promise<StoredResponse> {
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = res.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
}

function replay(stored: StoredResponse, replayed: boolean): Response {
  return new Response(stored.body.length > 0 ? stored.body : null, {
    status: stored.status,
    headers: { ...stored.headers, ...(replayed ? { "idempotent-replayed": "true" } : {}) },
  });
}
