import path from "node:path";
import { formatBytes } from "../../cli/format-table.js";
import { fail, firstLine, pass, type DoctorCheck } from "../check.js";
import type { WantedStorage } from "../doctor-context.js";
import { parsePvesmStatus, type StorageStatusRow } from "./pvesm-status.js";
import { parseStorageCfg, type StorageDefinition } from "./storage-cfg.js";

/**
 * The storages the agent puts things on are defined in storage.cfg (read through the agent's
 * /etc/pve port), hold the content they are needed for, are meant for this node, and are
 * active (`pvesm status`). The agent's configuration names no storage: a container's root
 * filesystem goes where its spec says, `local-lvm` by default (field-rules.ts), so the doctor
 * checks that one unless told others (--storage), and the template's storage under --cycle.
 */
export const storagesCheck: DoctorCheck = {
  id: "storages",
  title: "configured storages present",
  async run(ctx) {
    const file = path.join(ctx.paths.pveDir, "storage.cfg");
    const text = await ctx.clusterFs.readFile(file);
    if (text === null) return fail(`${file} does not exist`);
    const status = await ctx.runTool([ctx.tools.pvesm, "status"], ctx.options.timeoutMs);
    if (status.exitCode !== 0)
      return fail(`pvesm status exited ${status.exitCode}: ${firstLine(status.stderr) || "no message"}`);
    const judged = ctx.options.storages.map((wanted) =>
      judgeStorage(wanted, parseStorageCfg(text), parsePvesmStatus(status.stdout), ctx.config.node),
    );
    const problems = judged.filter((j) => j.problem);
    if (problems.length > 0) return fail(problems.map((j) => j.problem).join("; "));
    return pass(judged.map((j) => j.seen).join("; "));
  },
};

/** One wanted storage against storage.cfg and `pvesm status`: a problem, or what was seen. */
export function judgeStorage(
  wanted: WantedStorage,
  defined: readonly StorageDefinition[],
  rows: readonly StorageStatusRow[],
  node: string,
): { problem: string | null; seen: string } {
  const id = wanted.id;
  const def = defined.find((s) => s.id === id);
  const row = rows.find((r) => r.id === id);
  const problem = !def
    ? `storage '${id}' is not in storage.cfg`
    : !def.content.includes(wanted.content)
      ? `storage '${id}' (${def.type}) does not hold ${wanted.content} (content ${def.content.join(",") || "none"})`
      : def.disabled
        ? `storage '${id}' is disabled`
        : def.nodes && !def.nodes.includes(node)
          ? `storage '${id}' is limited to nodes ${def.nodes.join(",")}, not ${node}`
          : !row
            ? `storage '${id}' is missing from pvesm status`
            : row.status !== "active"
              ? `storage '${id}' is ${row.status} (pvesm status)`
              : null;
  const seen = row
    ? `${id} (${row.type}, ${wanted.content}): active, ${formatBytes(row.availKib * 1024)} free of ${formatBytes(row.totalKib * 1024)}`
    : id;
  return { problem, seen };
}
