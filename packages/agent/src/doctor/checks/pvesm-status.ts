/** One row of `pvesm status`. */
export interface StorageStatusRow {
  readonly id: string;
  readonly type: string;
  /** `active`, `inactive` or `disabled`. */
  readonly status: string;
  readonly totalKib: number;
  readonly availKib: number;
}

/**
 * Parses `pvesm status` (pve-storage PVE/CLI/pvesm.pm $print_status): a header, then
 * `<id> <type> <status> <total> <used> <available> <percent>`, sizes in KiB (the header says
 * so on PVE 9 only).
 */
export function parsePvesmStatus(text: string): StorageStatusRow[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^Name\s+Type\s+Status/.test(line))
    .map((line) => {
      const [id = "", type = "", status = "", total = "0", , avail = "0"] = line.trim().split(/\s+/);
      return { id, type, status, totalKib: Number(total), availKib: Number(avail) };
    });
}
