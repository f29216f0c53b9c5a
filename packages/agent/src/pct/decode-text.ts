/**
 * Proxmox's `decode_text` (PVE::ParseUtils, PVE::Tools in PVE 8), as a container's description
 * is stored in its config and printed by `pct config`: `%XX` escapes back to bytes, then those
 * bytes read as UTF-8 (encode_text escapes every hi-bit byte of the UTF-8 text).
 */
export function decodeText(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes[i] === 0x25 ? bytes.toString("latin1", i + 1, i + 3) : "";
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      out[n++] = Number.parseInt(hex, 16);
      i += 2;
    } else out[n++] = bytes[i]!;
  }
  return out.toString("utf8", 0, n);
}
