import { randomUUID } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Database, Queryable } from "../db/database.js";
import { PolicyViolationError, RequestValidationError } from "../errors.js";
import { requestFingerprint } from "./fingerprint.js";
import type { KeyIdentity, KeyStore, StoredResponse } from "./key-store.js";

/** What a handler's writes answer: stored under the key with them, and replayed byte for byte. */
export interface Answer {
  readonly status: ContentfulStatusCode;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What handlers of POST and DELETE get. */
export interface IdempotencyVariables {
  /**
   * Runs the handler's writes and stores their answer under the Idempotency-Key in ONE
   * transaction, run again whole when the database fails in a retryable way: a crash leaves
   * both or neither. `work` must be safe to run again (it reads what it changes).
   */
  idempotent: (work: (tx: Queryable) => Promise<Answer>) => Promise<Response>;
}

const KEY = /^[\x21-\x7e]{1,255}$/;
// Headers a replay must carry again; the rest are per-response.
const KEPT_HEADERS = ["content-type", "location"];

/**
 * Idempotency-Key semantics of the IETF draft and Stripe, for every POST and DELETE, with
 * keys scoped by `scopeOf` (the API token):
 * missing key → 400; same key and request → the first response replayed byte for byte; same
 * key, other request → 422; same key while the first is in flight → 409 with Retry-After.
 * A handler that writes does so through `idempotent`; any other answer below 500 (a refusal,
 * a request that writes nothing) is stored on its own. A request that fails validation, is
 * refused by policy (which its admin may widen) or fails internally stores nothing and leaves
 * the key usable.
 */
export function idempotency(
  db: Database,
  keys: KeyStore,
  scopeOf: (c: Context) => string,
  afterCommit: () => void = () => undefined,
): MiddlewareHandler<{ Variables: IdempotencyVariables }> {
  return async (c, next) => {
    if (c.req.method !== "POST" && c.req.method !== "DELETE") return next();
    const key = c.req.header("idempotency-key");
    if (key === undefined)
      throw new RequestValidationError([
        { pointer: "/headers/idempotency-key", reason: "is required on POST and DELETE" },
      ]);
    if (!KEY.test(key))
      throw new RequestValidationError([
        { pointer: "/headers/idempotency-key", reason: "must be 1 to 255 visible ASCII characters" },
      ]);
    const body = await c.req.text();
    const id: KeyIdentity = {
      claimToken: randomUUID(),
      scope: scopeOf(c),
      key,
      method: c.req.method,
      path: c.req.path,
      fingerprint: requestFingerprint(c.req.method, c.req.path, body),
    };
    const stored = await keys.claim(id);
    if (stored) return replay(stored, true);

    let committed = false;
    const commit = async (answer: (tx: Queryable) => Promise<StoredResponse>): Promise<Response> => {
      let attempts = 0;
      const response = await db.transaction(async (tx) => {
        // A run after a failed attempt: that attempt's COMMIT may have taken effect, and then its stored answer says so.
        const earlier = attempts++ > 0 ? await keys.finished(tx, id) : null;
        return earlier ?? keys.complete(tx, id, await answer(tx));
      });
      committed = true;
      afterCommit();
      return replay(response, false);
    };
    c.set("idempotent", (work) => commit(async (tx) => toStored(await work(tx))));
    try {
      await next();
      if (committed || c.error instanceof RequestValidationError || c.error instanceof PolicyViolationError) return;
      if (c.res.status >= 500) return;
      // A refusal (404, 409...) or an answer without writes: stored, so a retry gets it again.
      const response = await snapshot(c.res);
      c.res = undefined;
      c.res = await commit(async () => response);
    } finally {
      if (!committed) await keys.release(id);
    }
  };
}

function toStored(answer: Answer): StoredResponse {
  return {
    status: answer.status,
    headers: { "content-type": "application/json", ...answer.headers },
    body: Buffer.from(JSON.stringify(answer.body)),
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
