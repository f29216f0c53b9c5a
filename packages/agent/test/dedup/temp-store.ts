import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecutionContext } from "ava";
import { createMemoryLogger, scratchDir, type TestScope } from "@lockstep/shared";
import { RequestStore, type RequestStoreOptions } from "../../src/dedup/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../../..");

/** A fresh directory removed after the test if it passed, kept and named if it failed. */
export function tempDir(t: TestScope): string {
  return scratchDir(t, "lockstep-dedup");
}

/** Opens a store on `dir` with a memory logger; closed after the test if still open. */
export async function openStore(
  t: ExecutionContext,
  dir: string,
  options: Partial<RequestStoreOptions> = {},
): Promise<RequestStore & { logger: ReturnType<typeof createMemoryLogger> }> {
  const logger = createMemoryLogger();
  const store = await RequestStore.open({ dir, logger, ...options });
  t.teardown(() => store.close());
  return Object.assign(store, { logger });
}

/** Lines of the request log, header included. */
export function logLines(dir: string): string[] {
  return readFileSync(path.join(dir, "requests.log"), "utf8")
    .split("\n")
    .filter((line) => line.length > 0);
}

/** How many times an operation ran, counted as lines appended to a file. */
export function executions(countFile: string): number {
  try {
    return readFileSync(countFile, "utf8")
      .split("\n")
      .filter((line) => line.length > 0).length;
  } catch {
    return 0;
  }
}

/** Starts the agent-lifetime fixture in a child node process, as a separate agent would run. */
export function spawnLifetime(
  args: string[],
): ChildProcess & { output: Promise<string>; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, ["--import=tsx", path.join(here, "fixtures", "agent-lifetime.ts"), ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(signal ?? code)),
  );
  const output = exited.then(() => (stderr ? `${stdout}\n[stderr]\n${stderr}` : stdout));
  return Object.assign(child, { output, exited });
}

/** Resolves once the child has printed `marker` (or rejects when it exits first). */
export function waitForOutput(child: ChildProcess, marker: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    let errors = "";
    child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(marker)) resolve();
    });
    child.on("exit", () => reject(new Error(`child exited before printing '${marker}': ${seen}\n${errors}`)));
  });
}
