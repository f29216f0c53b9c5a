import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { lockstepVersion } from "@lockstep/shared";
import { releaseVersion, REPO } from "./support/package-build.js";

test("in a clone, Lockstep's version is the root package.json's", (t) => {
  t.is(lockstepVersion(), releaseVersion());
});

for (const bin of [
  "packages/agent/bin/lockstep-agent.js",
  "packages/agent/bin/lockstep-node.js",
  "packages/api/bin/lockstep-api.js",
]) {
  test(`${path.basename(bin, ".js")} --version prints that version and nothing else`, async (t) => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(REPO, bin), "--version"]);
    t.is(stdout, `${releaseVersion()}\n`);
    t.is(stderr, "");
  });
}
