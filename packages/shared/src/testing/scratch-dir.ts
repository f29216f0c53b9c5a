import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** What a test's context offers for this (ava's `t` has all three). */
export interface TestScope {
  teardown(fn: () => unknown): void;
  /** Whether the test has passed so far; accurate in its teardown. */
  readonly passed: boolean;
  log(...values: unknown[]): void;
}

/**
 * A temporary directory that lives as long as its test: its teardown removes it when the test
 * passed, and keeps it, naming it in the test's output, when the test failed, so the evidence
 * (a simulated node's files, an agent's state) stays for whoever looks into the failure.
 * Registered first, it is removed last, after whatever ran in it has stopped.
 */
export function scratchDir(t: TestScope, prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  t.teardown(() => {
    if (!t.passed) return t.log(`kept for the failure: ${dir}`);
    try {
      // Retried: a process the test started may still be writing there as it exits.
      rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    } catch (err) {
      // A task worker the simulator left running (as Proxmox leaves them) may still write there:
      // a leftover directory is not the test's failure.
      t.log(`not removed: ${dir} (${err instanceof Error ? err.message : String(err)})`);
    }
  });
  return dir;
}

/**
 * The scope of what a test file's `before` hook sets up for all its tests (hooks have no
 * teardown of their own): `noteResult` in an `afterEach.always` hook counts the tests that
 * failed, and `close` in `after.always` runs the teardowns, last registered first.
 */
export class SuiteScope implements TestScope {
  private readonly teardowns: (() => unknown)[] = [];
  private failures = 0;

  get passed(): boolean {
    return this.failures === 0;
  }

  teardown(fn: () => unknown): void {
    this.teardowns.push(fn);
  }

  log(...values: unknown[]): void {
    console.log(...values);
  }

  noteResult(t: { readonly passed: boolean }): void {
    if (!t.passed) this.failures++;
  }

  async close(): Promise<void> {
    for (const fn of this.teardowns.reverse()) await fn();
  }
}
