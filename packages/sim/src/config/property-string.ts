import { randomMac } from "../node/mac-address.js";

/** Splits `k=v,k2=v2` (PVE::JSONSchema parse_property_string, without the schema). */
function parseProperties(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(",").filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq > 0) map.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return map;
}

/**
 * A value as Proxmox stores it once applied. Only `net<N>` is rewritten: pve-container
 * src/PVE/LXC/Config.pm parse_lxc_network sets `type=veth` and a random `hwaddr` when none is
 * given, and print_lxc_network prints the keys sorted (PVE::JSONSchema print_property_string).
 * Other property strings (`features`, `mp<N>`) keep the text given to `pct set`
 * (update_pct_config stores `$value` as passed).
 */
export function normaliseProperty(key: string, value: string): string {
  if (!/^net\d+$/.test(key)) return value;
  const props = parseProperties(value);
  props.set("type", "veth");
  if (!props.has("hwaddr")) props.set("hwaddr", randomMac());
  return [...props.keys()]
    .sort()
    .map((k) => `${k}=${props.get(k)}`)
    .join(",");
}
