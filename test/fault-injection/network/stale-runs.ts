import type { CommandRunner } from "./command-runner.js";
import { killNamespaceProcesses } from "./namespace-processes.js";
import { parseJsonList } from "./parse-json-list.js";
import { parseNamespaceName, parseRootLinkName, type RunId } from "./network-names.js";
import type { OwnerCheck } from "./run-owner.js";

/**
 * Removes what runs whose owner is gone left behind (a crashed suite, a killed test): every
 * process still in their namespaces, the namespaces, and the root links of runs that have no
 * live namespace. A live run's names are left alone, so that several runs coexist. Answers
 * the names removed.
 */
export async function removeStaleRuns(commands: CommandRunner, alive: OwnerCheck): Promise<string[]> {
  const removed: string[] = [];
  for (const { name } of (await toolkitNamespaces(commands)).filter(({ run }) => !alive(run))) {
    await killNamespaceProcesses(commands, name);
    // Another run's start may be removing the same leftovers at the same time.
    await commands.run(["ip", "netns", "del", name]).catch(async (err: unknown) => {
      if ((await toolkitNamespaces(commands)).some((n) => n.name === name)) throw err;
    });
    removed.push(name);
  }
  // Links are listed before the namespaces they are checked against: a run makes its bridge
  // namespace before its root link, so a link whose run has no live namespace after is stale.
  const links = parseJsonList<{ ifname: string }>(await commands.run(["ip", "-j", "link", "show"])).map(
    (l) => l.ifname,
  );
  const live = new Set((await toolkitNamespaces(commands)).filter(({ run }) => alive(run)).map(({ run }) => run.token));
  for (const link of links) {
    const token = parseRootLinkName(link);
    if (token === null || live.has(token)) continue;
    await commands.run(["ip", "link", "del", link]).catch(async (err: unknown) => {
      if ((await commands.run(["ip", "-j", "link", "show"])).includes(`"${link}"`)) throw err;
    });
    removed.push(link);
  }
  return removed;
}

/** The namespaces that carry the toolkit's names, with their runs. */
async function toolkitNamespaces(commands: CommandRunner): Promise<{ name: string; run: RunId }[]> {
  const listed = parseJsonList<{ name: string }>(await commands.run(["ip", "-j", "netns", "list"]));
  return listed.flatMap(({ name }) => {
    const parsed = parseNamespaceName(name);
    return parsed ? [{ name, run: parsed.run }] : [];
  });
}
