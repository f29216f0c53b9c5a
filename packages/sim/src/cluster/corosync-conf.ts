/** One `nodelist { node { ... } }` entry of corosync.conf. */
export interface CorosyncNode {
  readonly name: string;
  readonly nodeid: number;
  readonly quorumVotes: number;
  readonly ring0Addr: string;
}

/** What the simulator keeps of corosync.conf: the cluster's name, version and members. */
export interface CorosyncConf {
  readonly clusterName: string;
  readonly configVersion: number;
  readonly nodes: readonly CorosyncNode[];
}

/**
 * corosync.conf as pve-cluster src/PVE/Corosync.pm create_conf builds it (totem, nodelist,
 * quorum, logging) and write_conf prints it: keys sorted, two-space indents, a blank line after
 * each top-level section, nodes sorted by name.
 */
export function formatCorosyncConf(conf: CorosyncConf): string {
  const nodes = [...conf.nodes].sort((a, b) => a.name.localeCompare(b.name));
  const node = (n: CorosyncNode): string =>
    `  node {\n    name: ${n.name}\n    nodeid: ${n.nodeid}\n    quorum_votes: ${n.quorumVotes}\n    ring0_addr: ${n.ring0Addr}\n  }\n`;
  return [
    "logging {\n  debug: off\n  to_syslog: yes\n}\n\n",
    `nodelist {\n${nodes.map(node).join("")}}\n\n`,
    "quorum {\n  provider: corosync_votequorum\n}\n\n",
    `totem {\n  cluster_name: ${conf.clusterName}\n  config_version: ${conf.configVersion}\n  interface {\n    linknumber: 0\n  }\n`,
    "  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}\n\n",
  ].join("");
}

type Section = { [key: string]: string | Section | Section[] };

// Corosync.pm $conf_array_sections: sections that may repeat.
const ARRAY_SECTIONS = new Set(["node", "interface"]);

/** Corosync.pm parse_conf: comments dropped, whitespace-separated tokens, `key {` opens a section. */
function parseSections(raw: string): Section {
  const tokens = raw.replace(/#.*$/gm, "").split(/\s+/).filter(Boolean);
  const main: Section = {};
  const stack: Section[] = [];
  let section = main;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (tokens[i + 1] === "{") {
      i++;
      const child: Section = {};
      if (ARRAY_SECTIONS.has(token)) ((section[token] ??= []) as Section[]).push(child);
      else section[token] = child;
      stack.push(section);
      section = child;
    } else if (token === "}") {
      section = stack.pop() ?? main;
    } else {
      section[token.replace(/:$/, "")] = tokens[++i] ?? "";
    }
  }
  return main;
}

/** Reads back what formatCorosyncConf writes (and any corosync.conf of that shape). */
export function parseCorosyncConf(raw: string): CorosyncConf {
  const main = parseSections(raw);
  const totem = (main.totem ?? {}) as Section;
  const nodes = (((main.nodelist ?? {}) as Section).node ?? []) as Section[];
  return {
    clusterName: String(totem.cluster_name ?? ""),
    configVersion: Number(totem.config_version ?? 0),
    nodes: nodes.map((n) => ({
      name: String(n.name),
      nodeid: Number(n.nodeid),
      quorumVotes: Number(n.quorum_votes ?? 1),
      ring0Addr: String(n.ring0_addr ?? ""),
    })),
  };
}
