/** One row of `pct list`. */
export interface PctListRow {
  readonly vmid: number;
  readonly status: "running" | "stopped";
  readonly lock: string;
  readonly name: string;
}

const ROW = /^(\d+)\s+(running|stopped)\s+(.*)$/;

/**
 * Parses `pct list`. The format is `printf "%-10s %-10s %-12s %-20s\n"` with a header, and
 * no output at all (not even the header) when there are no containers. A lock of 12 or
 * more characters pushes the name right, so columns are split on whitespace, not offsets:
 * neither locks nor hostnames contain spaces.
 */
export function parsePctList(stdout: string): PctListRow[] {
  const rows: PctListRow[] = [];
  for (const line of stdout.split("\n")) {
    if (line.trim() === "" || /^VMID\s+Status/.test(line)) continue;
    const match = ROW.exec(line.trimEnd());
    if (!match) throw new Error(`unexpected line in pct list output: ${JSON.stringify(line)}`);
    const rest = match[3]!.trim().split(/\s+/).filter(Boolean);
    const [lock, name] = rest.length >= 2 ? [rest[0]!, rest[1]!] : ["", rest[0] ?? ""];
    rows.push({ vmid: Number(match[1]), status: match[2] as "running" | "stopped", lock, name });
  }
  return rows;
}
