import { existsSync, readFileSync, unlinkSync } from "node:fs";
import { ipcRefused, pmxcfsRefusesIpc } from "../pmxcfs/pmxcfs-ipc.js";
import { PctError } from "./pct-error.js";
import { replaceFile } from "./replace-file.js";
import { configPath, type SimLayout } from "./sim-layout.js";

/** One section of a container config: properties, the description, and raw `lxc.*` lines. */
export interface Section {
  values: Record<string, string>;
  description: string;
  /** Raw LXC keys in file order: Proxmox keeps them as a list, since a key may repeat. */
  lxc: [string, string][];
}

/** An empty section, or one holding `values`. */
export function newSection(values: Record<string, string> = {}, description = ""): Section {
  return { values, description, lxc: [] };
}

/**
 * A container config as Proxmox keeps it: the main section, the changes waiting for the next
 * start (`[pve:pending]`, never a snapshot), and one section per snapshot.
 */
export interface CtConfig {
  main: Section;
  /** `[pve:pending]`: values to apply, and `delete` listing keys to remove (Config.pm parse_pct_config). */
  pending?: Section;
  snapshots: Map<string, Section>;
}

/**
 * PVE::ParseUtils encode_text (PVE::Tools in PVE 8): the text's UTF-8 bytes, each control and
 * hi-bit byte, `%` and `:` as `%XX` (uri_escape, upper-case hex).
 */
export function encodeText(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const safe = byte >= 0x20 && byte <= 0x7e && byte !== 0x25 && byte !== 0x3a;
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** PVE::ParseUtils decode_text: uri_unescape to bytes, then those bytes as UTF-8. */
function decodeText(text: string): string {
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

// Proxmox's parser accepts `lxc.key: value` and `lxc.key = value`.
const LXC_LINE = /^(lxc\.[a-z0-9_.-]+)(?::|\s*=)\s*(.*?)\s*$/;

/** Parses the config file format: `#` description lines, `key: value`, `[snapshot]` sections. */
export function parseConfig(text: string): CtConfig {
  const config: CtConfig = { main: newSection(), snapshots: new Map() };
  let current = config.main;
  const descriptionLines = new Map<Section, string[]>([[current, []]]);
  for (const line of text.split("\n")) {
    const section = /^\[([^\]]+)\]$/.exec(line);
    // pve-container src/PVE/LXC/Config.pm parse_pct_config: `[pve:pending]` (any case) is
    // the pending section, checked before the snapshot pattern.
    if (/^\[pve:pending\]\s*$/i.test(line)) {
      current = newSection();
      config.pending = current;
      descriptionLines.set(current, []);
    } else if (section) {
      current = newSection();
      config.snapshots.set(section[1]!, current);
      descriptionLines.set(current, []);
    } else if (line.startsWith("#")) {
      descriptionLines.get(current)!.push(decodeText(line.slice(1)));
    } else {
      const raw = LXC_LINE.exec(line);
      const kv = /^([a-z0-9_]+):\s?(.*)$/.exec(line);
      if (raw) current.lxc.push([raw[1]!, raw[2]!]);
      else if (kv) current.values[kv[1]!] = kv[2]!;
    }
  }
  for (const [section, lines] of descriptionLines) section.description = lines.join("\n");
  return config;
}

/**
 * Writes the config format back: description first, then sorted properties, then the raw
 * `lxc.*` lines in their order (where Proxmox's writer puts them), then snapshots.
 */
function formatConfig(config: CtConfig): string {
  const section = (s: Section): string => {
    // LXC/Config.pm write_pct_config: '#' . encode_text($line) for each line of the description.
    const lines = s.description ? s.description.split("\n").map((l) => `#${encodeText(l)}`) : [];
    lines.push(...propertyLines(s));
    return lines.map((l) => `${l}\n`).join("");
  };
  let text = section(config.main);
  // Config.pm write_pct_config: the pending section follows the main one, before snapshots.
  if (config.pending && (Object.keys(config.pending.values).length > 0 || config.pending.description))
    text += `\n[pve:pending]\n${section(config.pending)}`;
  for (const [name, snap] of config.snapshots) text += `\n[${name}]\n${section(snap)}`;
  return text;
}

/** A section's `key: value` lines as Proxmox prints them: sorted properties, then raw `lxc.*` keys in order. */
export function propertyLines(section: Pick<Section, "values" | "lxc">): string[] {
  return [
    ...Object.keys(section.values)
      .sort()
      .map((key) => `${key}: ${section.values[key]}`),
    ...section.lxc.map(([key, value]) => `${key}: ${value}`),
  ];
}

/**
 * The config of `vmid`, or Proxmox's error for a missing one (pve-guest-common
 * AbstractConfig.pm load_config), or the refused IPC of a pmxcfs stopped meanwhile.
 */
export function readConfig(layout: SimLayout, node: string, vmid: number): CtConfig {
  const text = readIfPresent(configPath(layout, vmid));
  if (text === null && pmxcfsRefusesIpc(layout)) throw ipcRefused();
  if (text === null) throw new PctError(`Configuration file 'nodes/${node}/lxc/${vmid}.conf' does not exist`);
  return parseConfig(text);
}

/**
 * One read, as pmxcfs answers ipcc_get_config from its memdb: a file missing at that moment is
 * missing (undef), even while it is only being replaced (renamed aside first, see pmxcfs-server.py).
 */
function readIfPresent(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Replaces the config atomically, as pmxcfs does. */
export function writeConfig(layout: SimLayout, vmid: number, config: CtConfig): void {
  const file = configPath(layout, vmid);
  replaceFile(file, formatConfig(config));
}

export function configExists(layout: SimLayout, vmid: number): boolean {
  return existsSync(configPath(layout, vmid));
}

export function removeConfig(layout: SimLayout, vmid: number): void {
  unlinkSync(configPath(layout, vmid));
}

/** Proxmox's check_lock: any `lock:` property refuses the operation. */
export function checkNotLocked(config: CtConfig): void {
  const lock = config.main.values.lock;
  if (lock) throw new PctError(`CT is locked (${lock})`);
}
