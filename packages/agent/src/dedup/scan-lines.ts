import type { FileHandle } from "node:fs/promises";

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/** One line of a file: its text (without the newline), where it starts, its byte length. */
export interface ScannedLine {
  readonly text: string;
  readonly at: number;
  readonly length: number;
}

/**
 * Calls `onLine` for every newline-terminated line of a file, reading fixed-size chunks so a
 * log of hundreds of megabytes never sits in memory whole. Returns the unterminated tail
 * (the part after the last newline), which after a crash is a torn write, or undefined.
 */
export async function scanLines(
  handle: FileHandle,
  onLine: (line: ScannedLine) => void,
): Promise<ScannedLine | undefined> {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let carry = Buffer.alloc(0);
  let carryAt = 0;
  for (let position = 0; ;) {
    const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    // Bytes are split before decoding, so a multi-byte character cut by a chunk edge stays whole.
    const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    let start = 0;
    for (let end = data.indexOf(NEWLINE, start); end !== -1; end = data.indexOf(NEWLINE, start)) {
      onLine({ text: data.toString("utf8", start, end), at: carryAt + start, length: end - start });
      start = end + 1;
    }
    carry = Buffer.from(data.subarray(start));
    carryAt += start;
  }
  return carry.length > 0 ? { text: carry.toString("utf8"), at: carryAt, length: carry.length } : undefined;
}
