import { renameSync, writeFileSync } from "node:fs";

/**
 * Replaces a file's content through a rename, as Proxmox's `file_set_contents` does: a reader
 * running meanwhile sees the old content or the new, never half or nothing.
 */
export function replaceFile(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content);
  renameSync(`${file}.tmp`, file);
}
