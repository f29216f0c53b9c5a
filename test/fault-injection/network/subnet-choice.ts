import type { CommandRunner } from "./command-runner.js";
import { NetworkError } from "./network-error.js";
import { parseJsonList } from "./parse-json-list.js";

// Runs pick their /24 at random from 10.200.0.0/16 to 10.249.0.0/16, away from the machine's
// own routes; two runs at once are told apart by checking for the route after taking it.
const FIRST_OCTET = 200;
const OCTETS = 50;
const TRIES = 64;

/** A /24 as its first three octets ("10.213.7"): host n has `${subnet}.${n}`. */
export type Subnet = string;

/** A /24 that overlaps none of the given routes (CIDRs or addresses; the default route aside). */
export function chooseSubnet(routes: readonly string[], random: () => number = Math.random): Subnet {
  const taken = routes.flatMap((r) => (r === "default" ? [] : [parseCidr(r)])).filter((r) => r.bits > 0);
  for (let i = 0; i < TRIES; i++) {
    const subnet = `10.${FIRST_OCTET + Math.floor(random() * OCTETS)}.${Math.floor(random() * 256)}`;
    const base = parseCidr(`${subnet}.0/24`);
    if (!taken.some((r) => overlaps(r, base))) return subnet;
  }
  throw new NetworkError(
    "UNSUPPORTED",
    `no free /24 found in 10.${FIRST_OCTET}.0.0-10.${FIRST_OCTET + OCTETS - 1}.255.0 after ${TRIES} tries`,
  );
}

/** Every IPv4 route of the root namespace, in every table, as CIDRs or addresses. */
export async function rootRoutes(commands: CommandRunner): Promise<{ dst: string; dev?: string }[]> {
  return parseJsonList<{ dst: string; dev?: string }>(
    await commands.run(["ip", "-j", "-4", "route", "show", "table", "all"]),
  );
}

interface Cidr {
  readonly net: number;
  readonly bits: number;
}

function parseCidr(text: string): Cidr {
  const [address, bits = "32"] = text.split("/");
  const octets = address!.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255))
    throw new NetworkError("BAD_INPUT", `'${text}' is not an IPv4 address or CIDR`);
  const value = octets.reduce((n, o) => n * 256 + o, 0);
  const n = Number(bits);
  return { net: n === 0 ? 0 : value - (value % 2 ** (32 - n)), bits: n };
}

function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  const size = 2 ** (32 - bits);
  return Math.floor(a.net / size) === Math.floor(b.net / size);
}
