import type { RowDataPacket } from "mysql2/promise";
import type { Policy, ResolvedSpec } from "@lockstep/shared";
import { storedPolicy } from "../auth/token-store.js";
import type { RuleBreach } from "../errors.js";
import type { Queryable } from "../db/database.js";
import { specBreaches } from "./spec-policy.js";

/** Whether a container's spec keeps within its token's policy as that policy is now. */
export interface Compliance {
  readonly compliant: boolean;
  readonly violations: readonly RuleBreach[];
}

/** What compliance is judged from: a record's spec and the token that created it. */
export interface Judged {
  readonly token_id: string | null;
  readonly spec: unknown;
}

/**
 * The policies that judge these records: each one's token's own, or the global one (a record
 * with no token, a token without a policy, a token deleted since). One query for them all.
 */
export async function policiesFor(db: Queryable, records: readonly Judged[], global: Policy): Promise<PolicyLookup> {
  const ids = [...new Set(records.map((r) => r.token_id).filter((id): id is string => id !== null))];
  const own = new Map<string, Policy>();
  if (ids.length > 0) {
    const [rows] = await db.query<RowDataPacket[]>(
      "SELECT id, policy FROM api_tokens WHERE id IN (?) AND policy IS NOT NULL",
      [ids],
    );
    for (const row of rows) own.set(row.id as string, storedPolicy({ id: row.id as string, policy: row.policy })!);
  }
  return (record) => {
    const policy = record.token_id !== null ? own.get(record.token_id) : undefined;
    return policy
      ? { policy, whose: `token ${record.token_id}'s policy` }
      : { policy: global, whose: "the global policy" };
  };
}

/** The policy that judges a record, and whose it is (for what a finding says). */
export type PolicyLookup = (record: Judged) => { readonly policy: Policy; readonly whose: string };

/**
 * A record judged by its policy. Its node is not judged: a container goes where Proxmox moves
 * it (an HA relocation), and the node rule is for where a create may place one.
 */
export function complianceOf(record: Judged, policy: Policy): Compliance {
  const violations = specBreaches(record.spec as ResolvedSpec, null, policy);
  return { compliant: violations.length === 0, violations };
}
