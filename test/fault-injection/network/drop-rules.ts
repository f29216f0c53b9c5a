import type { CommandRunner } from "./command-runner.js";
import { NetworkError } from "./network-error.js";

const TABLE = "bridge lockstep";
// IPv4 and IPv6 only: ARP still passes, so that a sender's neighbour entry stays valid and its
// packets vanish on the wire (a connect hangs and times out) rather than failing at once with
// "no route to host".
const IP_ONLY = "meta protocol { ip, ip6 }";

/**
 * The drop rules of one network: nftables in the bridge's namespace, on the bridge's forward
 * hook, where every frame between two hosts passes. Each fault adds its rules in one
 * transaction and removes them by their handles in one.
 */
export class DropRules {
  private constructor(
    private readonly commands: CommandRunner,
    private readonly namespace: string,
  ) {}

  /** The table and its forward chain, empty (everything passes). */
  static async install(commands: CommandRunner, namespace: string): Promise<DropRules> {
    const rules = new DropRules(commands, namespace);
    await rules.nft(
      ["-f", "-"],
      `add table ${TABLE}\nadd chain ${TABLE} forward { type filter hook forward priority 0; policy accept; }\n`,
    );
    return rules;
  }

  /** Drops the IP frames that enter from port `from` (any port when null) and leave by port `to` (any when null). */
  static between(from: string | null, to: string | null): string {
    return [from && `iifname "${from}"`, to && `oifname "${to}"`, IP_ONLY, "drop"].filter(Boolean).join(" ");
  }

  /** Drops that share of the IP frames entering from a port (to 0.01 %). */
  static share(from: string, percent: number): string {
    return `iifname "${from}" ${IP_ONLY} numgen random mod 10000 < ${Math.round(percent * 100)} drop`;
  }

  /** Adds the rules, all or none, and answers their handles. */
  async add(rules: readonly string[]): Promise<number[]> {
    const echoed = await this.nft(
      ["--echo", "--handle", "-f", "-"],
      rules.map((r) => `add rule ${TABLE} forward ${r}\n`).join(""),
    );
    const handles = [...echoed.matchAll(/^add rule .* # handle (\d+)$/gm)].map((m) => Number(m[1]));
    if (handles.length !== rules.length)
      throw new NetworkError(
        "COMMAND_FAILED",
        `nft echoed ${handles.length} handles for ${rules.length} rules: ${echoed.trim()}`,
      );
    return handles;
  }

  /** Removes the rules of these handles, all or none. */
  async remove(handles: readonly number[]): Promise<void> {
    await this.nft(["-f", "-"], handles.map((h) => `delete rule ${TABLE} forward handle ${h}\n`).join(""));
  }

  private nft(args: readonly string[], input?: string): Promise<string> {
    return this.commands.run(
      ["ip", "netns", "exec", this.namespace, "nft", ...args],
      input === undefined ? {} : { input },
    );
  }
}
