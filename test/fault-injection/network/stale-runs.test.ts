import test from "ava";
import type { CommandRunner } from "./command-runner.js";
import { namespaceName, rootLinkName, type RunId } from "./network-names.js";
import { removeStaleRuns } from "./stale-runs.js";

// The choice of what is stale, on a fake `ip` (the real one: virtual-network.test.ts).
const LIVE: RunId = { token: "11111111", pid: 100, start: "5000" };
const DEAD: RunId = { token: "22222222", pid: 200, start: "6000" };
// A pid reused by another process: the same pid, another start time.
const REUSED: RunId = { token: "33333333", pid: 100, start: "4000" };

/** An `ip` holding namespaces and links, answering the toolkit's calls and recording deletions. */
function fakeIp(namespaces: string[], links: string[]): { commands: CommandRunner; deleted: string[] } {
  const deleted: string[] = [];
  const commands: CommandRunner = {
    run: async (argv) => {
      const args = argv.slice(1).join(" ");
      if (args === "-j netns list") return JSON.stringify(namespaces.map((name) => ({ name })));
      if (args === "-j link show") return JSON.stringify(links.map((ifname) => ({ ifname })));
      if (args.startsWith("netns pids ")) return "";
      const del = /^(?:netns|link) del (\S+)$/.exec(args);
      if (!del) throw new Error(`unexpected call: ${argv.join(" ")}`);
      deleted.push(del[1]!);
      const list = args.startsWith("netns") ? namespaces : links;
      list.splice(list.indexOf(del[1]!), 1);
      return "";
    },
  };
  return { commands, deleted };
}

const alive = (run: RunId) => run.pid === LIVE.pid && run.start === LIVE.start;

test("a run whose owner is gone loses its namespaces and root link, and a live run keeps its own", async (t) => {
  const live = [namespaceName(LIVE, "bridge"), namespaceName(LIVE, "a")];
  const dead = [namespaceName(DEAD, "bridge"), namespaceName(DEAD, "a")];
  const { commands, deleted } = fakeIp(
    [...live, ...dead, "someone-elses"],
    ["eth0", rootLinkName(LIVE.token), rootLinkName(DEAD.token)],
  );
  const removed = await removeStaleRuns(commands, alive);
  t.deepEqual(removed, [...dead, rootLinkName(DEAD.token)]);
  t.deepEqual(deleted, removed);
});

test("a run whose owner's pid now belongs to another process is stale", async (t) => {
  const { commands } = fakeIp([namespaceName(REUSED, "a")], []);
  t.deepEqual(await removeStaleRuns(commands, alive), [namespaceName(REUSED, "a")]);
});

test("a root link whose run has no namespace left is stale (a run that crashed while it was destroyed)", async (t) => {
  const { commands } = fakeIp([], [rootLinkName(DEAD.token), "lo"]);
  t.deepEqual(await removeStaleRuns(commands, alive), [rootLinkName(DEAD.token)]);
});
