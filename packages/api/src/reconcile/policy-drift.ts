import type { RowDataPacket } from "mysql2/promise";
import type { Policy } from "@lockstep/shared";
import { complianceOf, policiesFor } from "../policy/compliance.js";
import { jsonColumn, type Queryable } from "../db/database.js";
import type { Finding } from "./classify-drift.js";

/**
 * The node's live records whose spec exceeds their token's policy as it is now (a policy
 * narrowed after they were made): each is a `policy` finding while it lasts, reported and
 * never repaired, since Lockstep never changes a container silently. It resolves when the
 * policy is widened again or an apply brings the spec within it.
 */
export async function policyFindings(db: Queryable, node: string, global: Policy): Promise<Finding[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT id, vmid, token_id, spec FROM containers WHERE node = ? AND status IN ('pending', 'provisioning', 'running', 'failed')",
    [node],
  );
  const records = rows.map((r) => ({
    id: r.id as string,
    vmid: r.vmid as number,
    token_id: (r.token_id as string | null) ?? null,
    spec: jsonColumn(r.spec),
  }));
  const policyOf = await policiesFor(db, records, global);
  return records.flatMap((record): Finding[] => {
    const { policy, whose } = policyOf(record);
    const { violations } = complianceOf(record, policy);
    if (violations.length === 0) return [];
    const broken = violations.map((v) => `rule ${v.rule} at ${v.pointer}: ${v.reason}`).join("; ");
    return [
      {
        kind: "policy",
        node,
        vmid: record.vmid,
        containerId: record.id,
        detail: `CT ${record.vmid}'s spec exceeds ${whose}: ${broken}`,
      },
    ];
  });
}
