import { spawn } from "node:child_process";
import test from "ava";
import { withinBound } from "../../src/node/within-bound.js";

/** Blocks the event loop, as a frozen process (SIGSTOP, a paused VM) stands still. */
function freeze(ms: number): void {
  for (const end = Date.now() + ms; Date.now() < end; );
}

test("an answer that arrived while the process was frozen past the bound is the answer, not the fallback", async (t) => {
  const child = spawn(process.execPath, ["-e", "process.stdout.write('answer')"], { stdio: ["ignore", "pipe", "ignore"] });
  const answer = new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString())));
  const bounded = withinBound(answer, 100, "fallback");
  freeze(1_500); // the child writes meanwhile; the bound's timer is due long before the loop runs again
  t.is(await bounded, "answer");
});

test("work that does not answer within the bound gets the fallback", async (t) => {
  t.is(await withinBound(new Promise<never>(() => undefined), 50, "fallback"), "fallback");
});
