import type { Migration } from "./migration.js";

/**
 * Incidents reported by agents reach every API process that watches the node; a key derived
 * from the event makes the second copy an ignored duplicate instead of a second incident.
 */
export const incidentSource: Migration = {
  version: 3,
  name: "incident-source",
  statements: [
    "ALTER TABLE incidents ADD COLUMN IF NOT EXISTS source_key CHAR(64) NULL",
    "CREATE UNIQUE INDEX IF NOT EXISTS incidents_source_key ON incidents (source_key)",
  ],
};
