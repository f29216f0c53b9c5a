import { systemCommands, type CommandOptions, type CommandRunner } from "./command-runner.js";
import { DropRules } from "./drop-rules.js";
import { buildNetwork, tearDownNetwork, type NetworkLayout } from "./network-layout.js";
import { NetworkError } from "./network-error.js";
import type { NetworkFault, NetworkFaultKind } from "./network-fault.js";
import { checkHostName, portName, ROOT_HOST } from "./network-names.js";
import { netemAvailable, netemDelay } from "./netem-delay.js";
import { queueDelay } from "./queue-delay.js";
import { ownerAlive } from "./run-owner.js";
import { removeStaleRuns } from "./stale-runs.js";

/** How a delay holds packets: a netem qdisc, or the NFQUEUE delayer where the kernel has no netem. */
export type DelayMechanism = "netem" | "queue";

export interface NetworkOptions {
  /** The hosts, each a namespace of its own: `<subnet>.2`, `.3`, ... in this order. */
  readonly hosts: readonly string[];
  readonly commands?: CommandRunner;
  /** netem where the kernel has it, the queue delayer where not, unless told. */
  readonly delayBy?: DelayMechanism;
  /** What the network did on its own: leftovers of crashed runs removed, a delayer that died. */
  readonly log?: (line: string) => void;
}

const MAX_DELAY_MS = 60_000;

/**
 * Named hosts, each in a network namespace of its own, on one bridge with the root namespace
 * (the host ROOT_HOST, first address); processes run in a host through `argvIn`; faults between
 * hosts are real kernel drops and delays, each undone by its own `heal`. Needs root.
 */
export class VirtualNetwork {
  private readonly active = new Set<NetworkFault>();
  /** Delays and losses being put in place, by `<kind> <host>`. */
  private readonly starting = new Set<string>();
  private mechanism: Promise<DelayMechanism> | null = null;
  private destroyed = false;

  private constructor(
    private readonly commands: CommandRunner,
    private readonly layout: NetworkLayout,
    private readonly rules: DropRules,
    private readonly options: NetworkOptions,
  ) {}

  /** Removes what crashed runs left, then makes the network. */
  static async create(options: NetworkOptions): Promise<VirtualNetwork> {
    if (options.hosts.length === 0 || options.hosts.length > 250)
      throw new NetworkError("BAD_INPUT", `a network has 1 to 250 hosts, not ${options.hosts.length}`);
    options.hosts.forEach(checkHostName);
    if (new Set(options.hosts).size !== options.hosts.length)
      throw new NetworkError("BAD_INPUT", `host names must differ: ${options.hosts.join(", ")}`);
    if (process.getuid?.() !== 0) throw new NetworkError("UNSUPPORTED", "network namespaces need root");
    const commands = options.commands ?? systemCommands;
    const removed = await removeStaleRuns(commands, ownerAlive);
    if (removed.length) options.log?.(`removed what crashed runs left: ${removed.join(", ")}`);
    const layout = await buildNetwork(commands, options.hosts);
    try {
      return new VirtualNetwork(commands, layout, await DropRules.install(commands, layout.bridge), options);
    } catch (err) {
      await tearDownNetwork(commands, layout.rootLink, [...layout.namespaces.values(), layout.bridge]).catch(
        () => undefined,
      );
      throw err;
    }
  }

  /** The network's /24, as a CIDR. */
  get subnet(): string {
    return `${this.layout.subnet}.0/24`;
  }

  /** Every kernel name this network made: its namespaces (hosts' and the bridge's) and its root link. */
  get names(): { readonly namespaces: readonly string[]; readonly rootLink: string } {
    return { namespaces: [...this.layout.namespaces.values(), this.layout.bridge], rootLink: this.layout.rootLink };
  }

  /** A host's address (ROOT_HOST: the root namespace's). */
  address(host: string): string {
    return this.layout.addresses.get(this.known(host))!;
  }

  /** A host's namespace name, as `ip netns` lists it. */
  namespace(host: string): string {
    const namespace = this.layout.namespaces.get(this.known(host));
    if (!namespace) throw new NetworkError("BAD_INPUT", "the root namespace has no namespace name of its own");
    return namespace;
  }

  /**
   * The argv that runs `argv` in a host: nsenter into its network namespace only, so that the
   * process sees every mount the root namespace makes, also later (`ip netns exec` would give
   * it a mount namespace of its own, blind to a pmxcfs mounted again after it started). The
   * process is the command itself (nsenter execs it): signals reach it directly.
   */
  argvIn(host: string, argv: readonly string[]): string[] {
    if (this.known(host) === ROOT_HOST) return [...argv];
    return ["nsenter", `--net=/run/netns/${this.namespace(host)}`, "--", ...argv];
  }

  /** Runs a command in a host to its end (with a timeout) and answers its stdout. */
  run(host: string, argv: readonly string[], options?: CommandOptions): Promise<string> {
    return this.commands.run(this.argvIn(host, argv), options);
  }

  /** The faults in place. */
  get faults(): readonly NetworkFault[] {
    return [...this.active];
  }

  /** Drops every packet between two hosts, both ways; the others still reach both. */
  async partition(a: string, b: string): Promise<NetworkFault> {
    if (this.known(a) === this.known(b))
      throw new NetworkError("BAD_INPUT", `a host cannot be partitioned from itself ('${a}')`);
    return this.dropping(
      "partition",
      [a, b],
      [DropRules.between(portName(a), portName(b)), DropRules.between(portName(b), portName(a))],
    );
  }

  /** Drops every packet to and from a host. */
  async isolate(host: string): Promise<NetworkFault> {
    this.known(host);
    return this.dropping(
      "isolate",
      [host],
      [DropRules.between(portName(host), null), DropRules.between(null, portName(host))],
    );
  }

  /** Drops `percent` of the packets a host sends (at random, to 0.01 %). */
  async loss(host: string, percent: number): Promise<NetworkFault> {
    this.known(host);
    if (!(percent >= 0.01 && percent <= 100))
      throw new NetworkError("BAD_INPUT", `loss is from 0.01 to 100 percent, not ${percent}`);
    return this.once("loss", host, () => this.dropping("loss", [host], [DropRules.share(portName(host), percent)]));
  }

  /** Holds each packet a host sends for `ms` +/- `jitterMs` (uniform; packets may overtake each other). */
  async delay(host: string, ms: number, jitterMs = 0): Promise<NetworkFault> {
    if (this.known(host) === ROOT_HOST)
      throw new NetworkError("BAD_INPUT", "the root namespace is not delayed: its rules would be the machine's own");
    if (!(ms > 0 && ms <= MAX_DELAY_MS))
      throw new NetworkError("BAD_INPUT", `a delay is more than 0 and at most ${MAX_DELAY_MS} ms, not ${ms}`);
    if (!(jitterMs >= 0 && jitterMs <= ms))
      throw new NetworkError("BAD_INPUT", `jitter is from 0 to the delay (${ms} ms), not ${jitterMs}`);
    const namespace = this.namespace(host);
    return this.once("delay", host, async () => {
      const undo =
        (await this.delayMechanism()) === "netem"
          ? await netemDelay(this.commands, namespace, "eth0", ms, jitterMs)
          : await queueDelay(this.commands, namespace, ms, jitterMs, (why) => this.options.log?.(why));
      return this.holding("delay", [host], undo);
    });
  }

  /** How this network delays: netem where the kernel has it, unless told. */
  delayMechanism(): Promise<DelayMechanism> {
    this.mechanism ??= this.options.delayBy
      ? Promise.resolve(this.options.delayBy)
      : netemAvailable(this.commands, this.layout.bridge).then(
          (netem) => (netem ? "netem" : "queue"),
          (err: unknown) => {
            // A probe that failed (a timeout on a loaded machine) is asked again next time.
            this.mechanism = null;
            throw err;
          },
        );
    return this.mechanism;
  }

  /** Undoes every fault in place, the latest first. */
  async heal(): Promise<void> {
    for (const fault of [...this.active].reverse()) await fault.heal();
  }

  /** Undoes every fault, kills what still runs in the hosts, and removes every namespace and link. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await this.heal().catch(() => undefined);
    this.destroyed = true;
    await tearDownNetwork(this.commands, this.names.rootLink, this.names.namespaces);
  }

  private async dropping(kind: NetworkFaultKind, hosts: string[], rules: string[]): Promise<NetworkFault> {
    const handles = await this.rules.add(rules);
    return this.holding(kind, hosts, () => this.rules.remove(handles));
  }

  private holding(kind: NetworkFaultKind, hosts: readonly string[], undo: () => Promise<void>): NetworkFault {
    let healing: Promise<void> | null = null;
    const fault: NetworkFault = {
      kind,
      hosts,
      heal: () => {
        healing ??= undo().then(
          () => void this.active.delete(fault),
          (err: unknown) => {
            // Still in place: a later heal (or destroy) tries again.
            healing = null;
            throw err;
          },
        );
        return healing;
      },
    };
    this.active.add(fault);
    return fault;
  }

  /**
   * One delay and one loss per host at a time: a second would blur what the first does. The
   * host is taken before the first await, so that two calls at once cannot both pass.
   */
  private async once(kind: "delay" | "loss", host: string, start: () => Promise<NetworkFault>): Promise<NetworkFault> {
    const key = `${kind} ${host}`;
    if (this.starting.has(key) || [...this.active].some((f) => f.kind === kind && f.hosts.includes(host)))
      throw new NetworkError("FAULT_ACTIVE", `${host} already has a ${kind}; heal it first`);
    this.starting.add(key);
    try {
      return await start();
    } finally {
      this.starting.delete(key);
    }
  }

  private known(host: string): string {
    if (this.destroyed) throw new NetworkError("DESTROYED", "the network was destroyed");
    if (!this.layout.addresses.has(host))
      throw new NetworkError(
        "BAD_INPUT",
        `no host '${host}' in this network (hosts: ${[...this.layout.addresses.keys()].join(", ")})`,
      );
    return host;
  }
}
