import test, { type ExecutionContext } from "ava";

/**
 * Why the real-namespace tests cannot run here, or null: they need root; CI runs as root and
 * must never skip them (test/packages/debian-packages.test.ts does the same).
 */
export const NOT_ROOT =
  process.getuid?.() === 0 || process.env.CI === "true" ? null : "network namespaces need root (not root, not CI)";

/** A serial test that runs as root, and is skipped elsewhere with the reason in its title. */
export function rootTest(title: string, implementation: (t: ExecutionContext) => Promise<void>): void {
  if (NOT_ROOT) test.skip(`${title} [skipped: ${NOT_ROOT}]`, implementation);
  else test.serial(title, implementation);
}
