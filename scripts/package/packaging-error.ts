/** Why a packaging build stopped: a stable code for scripts and tests, and a message for people. */
export type PackagingReason =
  /** A download failed or timed out. */
  | "DOWNLOAD_FAILED"
  /** A downloaded file's digest is not the pinned one. */
  | "INTEGRITY_MISMATCH"
  /** Bundled code refers to a file by URL that the package does not ship. */
  | "UNMAPPED_REFERENCE"
  /** A tool (git, dpkg-deb, dpkg-shlibdeps, tar) failed. */
  | "COMMAND_FAILED"
  /** The repository is not in a state to package (no version, not a git checkout). */
  | "BAD_INPUT";

/** Thrown by every step of scripts/package.sh. */
export class PackagingError extends Error {
  readonly code: PackagingReason;

  constructor(code: PackagingReason, message: string) {
    super(message);
    this.name = "PackagingError";
    this.code = code;
  }
}
