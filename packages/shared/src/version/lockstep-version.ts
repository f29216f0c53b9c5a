import { readFileSync } from "node:fs";

// Defined by the packaging build (scripts/package/bundle.ts, esbuild `define`) as the release's
// version; never defined in development, where `typeof` answers "undefined".
declare const LOCKSTEP_BUNDLED_VERSION: string | undefined;

/**
 * Lockstep's version, from its one source, the repository's root package.json: embedded at
 * bundle time in the Debian packages, read from the file in a clone.
 */
export function lockstepVersion(): string {
  if (typeof LOCKSTEP_BUNDLED_VERSION === "string") return LOCKSTEP_BUNDLED_VERSION;
  // dist/version/ (or src/version/ under tsx) -> the package -> packages/ -> the repository.
  const root = JSON.parse(readFileSync(new URL("../../../../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  if (typeof root.version !== "string") throw new Error("the root package.json has no version");
  return root.version;
}
