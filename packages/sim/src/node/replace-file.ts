import { closeSync, constants, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { PctError } from "./pct-error.js";
import { strerror } from "./strerror.js";

/**
 * Replaces a file's content through a rename, as pve-common src/PVE/File.pm file_set_contents
 * does: `<file>.tmp.<pid>` created exclusively (an old one removed, three tries), written, then
 * renamed over the file, so a reader sees the old content or the new, never half or nothing.
 * Its failures carry Proxmox's texts: on a pmxcfs without quorum the create fails
 * (`unable to open file '…' - Permission denied`), a VMID another node holds fails the rename.
 */
export function replaceFile(file: string, content: string): void {
  const tmp = `${file}.tmp.${process.pid}`;
  const fd = openExclusive(tmp);
  try {
    writeSync(fd, content);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw new PctError(`unable to write '${tmp}' - ${strerror(err)}`);
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new PctError(`close (rename) atomic file '${file}' failed: ${strerror(err)}`);
  }
}

function openExclusive(tmp: string): number {
  let last: unknown;
  for (let tries = 0; tries < 3; tries++) {
    try {
      return openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    } catch (err) {
      last = err;
      if ((err as NodeJS.ErrnoException).code === "EEXIST") rmSync(tmp, { force: true });
    }
  }
  throw new PctError(`unable to open file '${tmp}' - ${strerror(last)}`);
}
