import type { RowDataPacket } from "mysql2/promise";
import { quotaViolation, type Policy, type ResolvedSpec } from "@lockstep/shared";
import type { Caller } from "../auth/token-store.js";
import { PolicyViolationError } from "../errors.js";
import { recordIncident } from "../incidents/incident-log.js";
import type { Database, Queryable } from "../db/database.js";
import { specBreaches } from "./spec-policy.js";

/** The policy that judges a caller: its token's own, or the API's global one. */
export function policyOf(caller: Caller, global: Policy): Policy {
  return caller.policy ?? global;
}

/** What a create or apply asks for, judged before its transaction: a spec (and a create's node). */
export function requireSpecAllowed(policy: Policy, spec: ResolvedSpec, node: string | null): void {
  const breaches = specBreaches(spec, node, policy);
  if (breaches.length > 0) throw new PolicyViolationError(breaches);
}

/**
 * The token's container quota, in the create's transaction. The token's row is locked first,
 * so that two creates of one token count one after the other and never both take the last
 * place. A container counts until its delete is done.
 */
export async function requireQuota(tx: Queryable, caller: Caller, policy: Policy): Promise<void> {
  if (policy.max_containers === undefined) return;
  await tx.query("SELECT id FROM api_tokens WHERE id = ? FOR UPDATE", [caller.tokenId]);
  const [rows] = await tx.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS held FROM containers WHERE token_id = ? AND status <> 'deleted'",
    [caller.tokenId],
  );
  const breach = quotaViolation(Number(rows[0]!.held), policy);
  if (breach) throw new PolicyViolationError([{ rule: breach.rule, pointer: "", reason: breach.message }]);
}

/** What was refused, for the incident: the request's kind, its node and container when known. */
export interface RefusedRequest {
  readonly kind: "create" | "apply";
  readonly node: string | null;
  readonly containerId: string | null;
  readonly vmid: number | null;
}

/**
 * Every refusal is an incident naming the token and the rule, written on its own: the
 * request's transaction, if any, was rolled back with everything else it would have written.
 */
export async function recordRefusal(
  db: Database,
  caller: Caller,
  refused: RefusedRequest,
  err: PolicyViolationError,
  now: Date,
): Promise<void> {
  await recordIncident(db, {
    at: now,
    node: refused.node,
    vmid: refused.vmid,
    kind: "policy-refused",
    severity: "warning",
    containerId: refused.containerId,
    detail: `token ${caller.tokenId} ('${caller.name}'): ${refused.kind} refused (rule ${err.rule}): ${err.message}`,
  });
}
