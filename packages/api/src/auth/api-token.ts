import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** What a token may do; each scope includes the ones before it. */
export const SCOPES = ["read", "operator", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * A bearer token is `lst_<id>_<secret>`. The id is public: it names the token in lists,
 * logs and idempotency scopes. The secret is 256 random bits and only its SHA-256 is
 * stored. A fast hash is enough for a secret that cannot be guessed (unlike a password),
 * and a slow one would cost every request.
 */
const TOKEN = /^lst_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface TokenParts {
  readonly id: string;
  readonly secret: string;
}

export function parseToken(text: string): TokenParts | null {
  const match = TOKEN.exec(text);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

export function newToken(): TokenParts & { readonly text: string } {
  const id = randomBytes(6).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, secret, text: `lst_${id}_${secret}` };
}

export function secretDigest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

export function secretMatches(secret: string, digest: Buffer): boolean {
  const candidate = secretDigest(secret);
  return candidate.length === digest.length && timingSafeEqual(candidate, digest);
}

export function grants(held: Scope, needed: Scope): boolean {
  return SCOPES.indexOf(held) >= SCOPES.indexOf(needed);
}
