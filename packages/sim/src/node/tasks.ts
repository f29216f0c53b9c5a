import { appendFileSync } from "node:fs";
import type { SimLayout } from "./sim-layout.js";

/** Appends one call record; each line is one small O_APPEND write, so concurrent writers never interleave. */
export function recordCall(layout: SimLayout, record: Record<string, unknown>): void {
  appendFileSync(layout.callsLog, `${JSON.stringify(record)}\n`);
}
