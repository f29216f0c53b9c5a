import { readFileSync } from "node:fs";
import path from "node:path";
import { PackagingError } from "./packaging-error.js";
import { runCommand } from "./run-command.js";

/** What one build is of: the same commit always gives the same release, hence the same bytes. */
export interface Release {
  /** The root package.json's version (semver), the one source of Lockstep's version. */
  readonly version: string;
  /** As Debian orders it: a pre-release's `-` becomes `~` (0.2.0-rc.1 -> 0.2.0~rc.1 sorts before 0.2.0). */
  readonly debianVersion: string;
  /** Every timestamp in the packages: the commit's time, or SOURCE_DATE_EPOCH when given. */
  readonly sourceDateEpoch: number;
  readonly commit: string;
  /** Whether the work tree differed from the commit (said in the changelog, never hidden). */
  readonly dirty: boolean;
}

const SEMVER = /^(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.]+))?$/;

/** Reads the release of the repository at `repo`. */
export async function readRelease(repo: string, env: NodeJS.ProcessEnv): Promise<Release> {
  const version = (JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8")) as { version?: unknown }).version;
  if (typeof version !== "string") throw new PackagingError("BAD_INPUT", "the root package.json has no version");
  const match = SEMVER.exec(version);
  if (!match)
    throw new PackagingError(
      "BAD_INPUT",
      `the root package.json's version ${JSON.stringify(version)} is not major.minor.patch[-prerelease]`,
    );
  const git = (...args: string[]): Promise<string> => runCommand("git", ["-C", repo, ...args], { timeoutMs: 30_000 });
  const commit = (await git("rev-parse", "HEAD")).trim();
  const epoch = env.SOURCE_DATE_EPOCH ?? (await git("log", "-1", "--format=%ct", "HEAD")).trim();
  if (!/^\d+$/.test(epoch))
    throw new PackagingError("BAD_INPUT", `SOURCE_DATE_EPOCH must be whole seconds, got ${JSON.stringify(epoch)}`);
  const dirty = (await git("status", "--porcelain", "--untracked-files=no")).trim() !== "";
  return {
    version,
    debianVersion: match[2] ? `${match[1]}~${match[2]}` : version,
    sourceDateEpoch: Number(epoch),
    commit,
    dirty,
  };
}
