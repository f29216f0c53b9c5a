import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository this test runs from. */
export const REPO = fileURLToPath(new URL("../../..", import.meta.url)).replace(/\/$/, "");

/** The built packages, by name. */
export interface BuiltPackages {
  readonly dir: string;
  readonly agent: string;
  readonly api: string;
  /** How long scripts/package.sh took. */
  readonly ms: number;
}

/** Runs scripts/package.sh --out `dir` (the command the README names) and finds what it built. */
export async function buildPackages(dir: string): Promise<BuiltPackages> {
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    execFile(
      path.join(REPO, "scripts/package.sh"),
      ["--out", dir],
      { timeout: 20 * 60_000, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 },
      (err, _stdout, stderr) =>
        err ? reject(new Error(`scripts/package.sh failed: ${err.message}\n${stderr}`)) : resolve(),
    );
  });
  const debs = readdirSync(dir);
  const find = (name: string): string => {
    const deb = debs.find((file) => file.startsWith(`${name}_`) && file.endsWith("_amd64.deb"));
    if (!deb) throw new Error(`scripts/package.sh built no ${name} package in ${dir}: ${debs.join(", ")}`);
    return path.join(dir, deb);
  };
  return { dir, agent: find("lockstep-agent"), api: find("lockstep-api"), ms: Date.now() - started };
}

/** The release version, from its one source (the root package.json). */
export function releaseVersion(): string {
  return (JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { version: string }).version;
}
