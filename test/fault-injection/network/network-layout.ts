import type { CommandRunner } from "./command-runner.js";
import { killNamespaceProcesses } from "./namespace-processes.js";
import { NetworkError } from "./network-error.js";
import { BRIDGE_ROLE, namespaceName, portName, ROOT_HOST, rootLinkName, type RunId } from "./network-names.js";
import { newRun } from "./run-owner.js";
import { chooseSubnet, rootRoutes, type Subnet } from "./subnet-choice.js";

const BRIDGE = "br0";
const SUBNET_TRIES = 3;

/** What one network is made of: every name it gave, and every host's address. */
export interface NetworkLayout {
  readonly run: RunId;
  readonly subnet: Subnet;
  /** The namespace of the bridge, where the drop rules live. */
  readonly bridge: string;
  /** Each host's namespace (not the root's: it has none of its own). */
  readonly namespaces: ReadonlyMap<string, string>;
  /** Each host's address, the root namespace's (ROOT_HOST) first. */
  readonly addresses: ReadonlyMap<string, string>;
  readonly rootLink: string;
}

/**
 * Makes the network: a namespace holding a bridge, the root namespace linked into it at
 * `<subnet>.1`, and each host a namespace of its own (loopback up) with a veth `eth0` into the
 * bridge at `<subnet>.2`, `.3`, ... in order. What was made is removed again if a step fails.
 */
export async function buildNetwork(commands: CommandRunner, hosts: readonly string[]): Promise<NetworkLayout> {
  const run = newRun();
  const bridge = namespaceName(run, BRIDGE_ROLE);
  const made: string[] = [];
  const layout = {
    run,
    bridge,
    rootLink: rootLinkName(run.token),
    namespaces: new Map<string, string>(),
    addresses: new Map<string, string>(),
    subnet: "",
  };
  const ip = (...args: string[]) => commands.run(["ip", ...args]);
  try {
    await ip("netns", "add", bridge);
    made.push(bridge);
    await ip("-n", bridge, "link", "set", "lo", "up");
    await ip("-n", bridge, "link", "add", BRIDGE, "type", "bridge");
    await ip("-n", bridge, "link", "set", BRIDGE, "up");
    await ip("link", "add", layout.rootLink, "type", "veth", "peer", "name", portName(ROOT_HOST), "netns", bridge);
    await ip("-n", bridge, "link", "set", portName(ROOT_HOST), "master", BRIDGE, "up");
    // Up first: the link's route, which another run checks for, exists only on a link that is up.
    await ip("link", "set", layout.rootLink, "up");
    layout.subnet = await claimSubnet(commands, layout.rootLink);
    layout.addresses.set(ROOT_HOST, `${layout.subnet}.1`);
    for (const [i, host] of hosts.entries()) {
      const namespace = namespaceName(run, host);
      const address = `${layout.subnet}.${i + 2}`;
      await ip("netns", "add", namespace);
      made.push(namespace);
      await ip("-n", bridge, "link", "add", portName(host), "type", "veth", "peer", "name", "eth0", "netns", namespace);
      await ip("-n", bridge, "link", "set", portName(host), "master", BRIDGE, "up");
      await ip("-n", namespace, "link", "set", "lo", "up");
      await ip("-n", namespace, "addr", "add", `${address}/24`, "dev", "eth0");
      await ip("-n", namespace, "link", "set", "eth0", "up");
      layout.namespaces.set(host, namespace);
      layout.addresses.set(host, address);
    }
    return layout;
  } catch (err) {
    await tearDownNetwork(commands, layout.rootLink, made).catch(() => undefined);
    throw err;
  }
}

/**
 * Removes the root link, every process left in the namespaces, and the namespaces (the veths
 * inside go with them). Tries every step; throws the first failure after.
 */
export async function tearDownNetwork(
  commands: CommandRunner,
  rootLink: string,
  namespaces: readonly string[],
): Promise<void> {
  const failures: unknown[] = [];
  // Deleting one end of a veth pair deletes both at once; the namespace's would go later.
  await commands.run(["ip", "link", "del", rootLink]).catch(async (err: unknown) => {
    if (await exists(commands, ["ip", "-j", "link", "show"], rootLink)) failures.push(err);
  });
  for (const namespace of namespaces) {
    try {
      await killNamespaceProcesses(commands, namespace);
      await commands.run(["ip", "netns", "del", namespace]);
    } catch (err) {
      if (await exists(commands, ["ip", "-j", "netns", "list"], namespace)) failures.push(err);
    }
  }
  if (failures.length) throw failures[0];
}

/**
 * Takes a free /24 for the root link's address. Two runs may pick the same one at once: each
 * looks again after taking it, and the one that sees another device on it picks again.
 */
async function claimSubnet(commands: CommandRunner, rootLink: string): Promise<Subnet> {
  for (let i = 0; i < SUBNET_TRIES; i++) {
    const subnet = chooseSubnet((await rootRoutes(commands)).map((r) => r.dst));
    await commands.run(["ip", "addr", "add", `${subnet}.1/24`, "dev", rootLink]);
    const others = (await rootRoutes(commands)).filter((r) => r.dst === `${subnet}.0/24` && r.dev !== rootLink);
    if (others.length === 0) return subnet;
    await commands.run(["ip", "addr", "del", `${subnet}.1/24`, "dev", rootLink]);
  }
  throw new NetworkError("UNSUPPORTED", `another run took each of the ${SUBNET_TRIES} subnets chosen for this one`);
}

async function exists(commands: CommandRunner, list: readonly string[], name: string): Promise<boolean> {
  return (await commands.run(list)).includes(`"${name}"`);
}
