import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { scratchDir } from "@lockstep/shared";
import { PackagingError } from "../../scripts/package/packaging-error.js";
import { readRelease } from "../../scripts/package/release.js";

/** A git repository whose one commit has this root package.json, committed at `epoch`. */
function repository(t: ExecutionContext, manifest: object, epoch = 1_700_000_000): string {
  const dir = scratchDir(t, "lockstep-release");
  writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest));
  const git = (...args: string[]): void =>
    void execFileSync("git", ["-C", dir, ...args], {
      env: {
        ...process.env,
        GIT_AUTHOR_DATE: `@${epoch} +0000`,
        GIT_COMMITTER_DATE: `@${epoch} +0000`,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@example.org",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.org",
      },
    });
  git("init", "-q");
  git("add", "package.json");
  git("commit", "-q", "-m", "release");
  return dir;
}

test("a release is the root package.json's version, dated by its commit", async (t) => {
  const release = await readRelease(repository(t, { version: "1.4.2" }), {});
  t.is(release.version, "1.4.2");
  t.is(release.debianVersion, "1.4.2");
  t.is(release.sourceDateEpoch, 1_700_000_000);
  t.false(release.dirty);
});

test("a pre-release sorts before its release in Debian's order", async (t) => {
  t.is((await readRelease(repository(t, { version: "0.2.0-rc.1" }), {})).debianVersion, "0.2.0~rc.1");
});

test("SOURCE_DATE_EPOCH, when given, dates the packages instead of the commit", async (t) => {
  t.is(
    (await readRelease(repository(t, { version: "1.0.0" }), { SOURCE_DATE_EPOCH: "1234567890" })).sourceDateEpoch,
    1_234_567_890,
  );
});

test("a version that is not major.minor.patch is refused with its value", async (t) => {
  const err = await t.throwsAsync(readRelease(repository(t, { version: "1.0" }), {}), { instanceOf: PackagingError });
  t.is(err?.code, "BAD_INPUT");
  t.regex(err?.message ?? "", /"1\.0"/);
});

test("uncommitted changes to the work tree are noticed", async (t) => {
  const repo = repository(t, { version: "1.0.0" });
  writeFileSync(path.join(repo, "package.json"), JSON.stringify({ version: "1.0.0", description: "edited" }));
  t.true((await readRelease(repo, {})).dirty);
});
