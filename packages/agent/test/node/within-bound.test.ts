import { spawn } from "node:child_process";
import path from "node:path";
import test from "ava";
import { scratchDir } from "@lockstep/shared";
import { withinBound } from "../../src/node/within-bound.js";
import { freezeUntil } from "./freeze-until.js";

test("an answer that arrived while the process was frozen past the bound is the answer, not the fallback", async (t) => {
  const dir = scratchDir(t, "bound-answered");
  const marker = path.join(dir, "answered");
  const script = `require("fs").writeSync(1, "answer"); require("fs").writeFileSync(${JSON.stringify(marker)}, "")`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "ignore"] });
  const answer = new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString())));
  const bounded = withinBound(answer, 100, "fallback");
  freezeUntil(marker, 500); // the child writes meanwhile; the bound's timer is due long before the loop runs again
  t.is(await bounded, "answer");
});

test("work that does not answer within the bound gets the fallback", async (t) => {
  t.is(await withinBound(new Promise<never>(() => undefined), 50, "fallback"), "fallback");
});
