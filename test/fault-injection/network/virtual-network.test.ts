import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";
import { NetworkError } from "./network-error.js";
import { ROOT_HOST } from "./network-names.js";
import { execDone } from "./support/exec-done.js";
import { HostProcess } from "./support/host-process.js";
import { Probes } from "./support/probes.js";
import { rootTest } from "./support/root-only.js";
import { VirtualNetwork } from "./virtual-network.js";

// Real namespaces, veths, a bridge and nftables drops. What a test made is removed in its
// `finally`; a test that died mid-way leaves names the next network's start removes.
const run = promisify(execFile);
const PORT = 7000;
const GIVE_UP_MS = 2000;
// Longer than a failed ARP resolution (3 s), which would end a connect with EHOSTUNREACH.
const HANG_MS = 5000;
const CRASHING_RUN = fileURLToPath(new URL("./support/crashing-run.ts", import.meta.url));

async function withNetwork(
  hosts: string[],
  body: (network: VirtualNetwork, probes: Probes) => Promise<void>,
): Promise<void> {
  const network = await VirtualNetwork.create({ hosts });
  try {
    await body(network, new Probes(network));
  } finally {
    await network.destroy();
  }
}

async function listed(): Promise<{ namespaces: string; links: string }> {
  return {
    namespaces: (await run("ip", ["netns", "list"])).stdout,
    links: (await run("ip", ["-o", "link", "show"])).stdout,
  };
}

/** A TCP connect from the test process itself, in the root namespace. */
function connectFromRoot(address: string, giveUpMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(PORT, address, () => finish(true));
    const timer = setTimeout(() => finish(false), giveUpMs);
    socket.on("error", () => finish(false));
    function finish(ok: boolean) {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    }
  });
}

rootTest("two hosts of a network talk over TCP on their own addresses", async (t) => {
  await withNetwork(["a", "b"], async (network, probes) => {
    const server = await probes.tcpServer("b", PORT);
    try {
      t.regex(network.address("a"), /^10\.2[0-4]\d\.\d+\.2$/);
      t.is(network.address("b"), network.address("a").replace(/\.2$/, ".3"));
      t.like(await probes.connect("a", "b", PORT, GIVE_UP_MS), { ok: true });
      t.deepEqual((await probes.roundTrips("a", "b", PORT, 3)).length, 3);
    } finally {
      await server.finish();
    }
  });
});

rootTest(
  "after a partition a connect between the two hangs until given up, while a third host still reaches both",
  async (t) => {
    await withNetwork(["a", "b", "c"], async (network, probes) => {
      const servers = [await probes.tcpServer("a", PORT), await probes.tcpServer("b", PORT)];
      try {
        await network.partition("a", "b");
        const cut = await probes.connect("a", "b", PORT, HANG_MS);
        // Given up by the probe itself: no refusal, no "no route to host", the packets vanish.
        t.like(cut, { ok: false, code: "GAVE_UP" });
        t.true(cut.ms >= HANG_MS);
        t.like(await probes.connect("b", "a", PORT, GIVE_UP_MS), { ok: false, code: "GAVE_UP" });
        t.like(await probes.connect("c", "a", PORT, GIVE_UP_MS), { ok: true });
        t.like(await probes.connect("c", "b", PORT, GIVE_UP_MS), { ok: true });
      } finally {
        await Promise.all(servers.map((s) => s.finish()));
      }
    });
  },
);

rootTest("healing a partition lets the two hosts connect again", async (t) => {
  await withNetwork(["a", "b"], async (network, probes) => {
    const server = await probes.tcpServer("b", PORT);
    try {
      const fault = await network.partition("a", "b");
      t.like(await probes.connect("a", "b", PORT, GIVE_UP_MS), { ok: false });
      await fault.heal();
      t.deepEqual(network.faults, []);
      t.like(await probes.connect("a", "b", PORT, GIVE_UP_MS), { ok: true });
    } finally {
      await server.finish();
    }
  });
});

rootTest("an isolated host reaches no one and no one reaches it, while the others still talk", async (t) => {
  await withNetwork(["a", "b", "c"], async (network, probes) => {
    const servers = [await probes.tcpServer("a", PORT), await probes.tcpServer("b", PORT)];
    try {
      await network.isolate("a");
      t.like(await probes.connect("a", "b", PORT, GIVE_UP_MS), { ok: false, code: "GAVE_UP" });
      t.like(await probes.connect("c", "a", PORT, GIVE_UP_MS), { ok: false, code: "GAVE_UP" });
      t.false(await connectFromRoot(network.address("a"), GIVE_UP_MS));
      t.like(await probes.connect("c", "b", PORT, GIVE_UP_MS), { ok: true });
      await network.heal();
      t.like(await probes.connect("c", "a", PORT, GIVE_UP_MS), { ok: true });
    } finally {
      await Promise.all(servers.map((s) => s.finish()));
    }
  });
});

rootTest("the root namespace reaches every host at its address, unless partitioned from it", async (t) => {
  await withNetwork(["a", "b"], async (network, probes) => {
    const servers = [await probes.tcpServer("a", PORT), await probes.tcpServer("b", PORT)];
    try {
      t.true(await connectFromRoot(network.address("a"), GIVE_UP_MS));
      t.true(await connectFromRoot(network.address("b"), GIVE_UP_MS));
      await network.partition(ROOT_HOST, "a");
      t.false(await connectFromRoot(network.address("a"), GIVE_UP_MS));
      t.true(await connectFromRoot(network.address("b"), GIVE_UP_MS));
    } finally {
      await Promise.all(servers.map((s) => s.finish()));
    }
  });
});

rootTest("a process started in a host is the command itself, so that a signal reaches it", async (t) => {
  await withNetwork(["a"], async (network) => {
    const [file, ...args] = network.argvIn("a", ["sleep", "30"]);
    const child = spawn(file!, args, { stdio: "ignore" });
    const exited = new Promise((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    try {
      await execDone(child.pid!, "sleep");
      t.is((await run("ip", ["netns", "identify", String(child.pid)])).stdout.trim(), network.namespace("a"));
    } finally {
      child.kill("SIGTERM");
    }
    t.is(await exited, "SIGTERM");
  });
});

rootTest(
  "a process in a host sees a mount the root namespace makes after it started (a pmxcfs mounted again)",
  async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lockstep-netns-mount-"));
    const mountpoint = path.join(dir, "mnt");
    mkdirSync(mountpoint);
    try {
      await withNetwork(["a"], async (network) => {
        const [file, ...args] = network.argvIn("a", ["sleep", "30"]);
        const child = spawn(file!, args, { stdio: "ignore" });
        try {
          await execDone(child.pid!, "sleep");
          await run("mount", ["-t", "tmpfs", "lockstep-netns-test", mountpoint]);
          writeFileSync(path.join(mountpoint, "marker"), "mounted after the process started\n");
          // /proc/<pid>/root resolves paths in the process's own mount namespace.
          t.true(existsSync(`/proc/${child.pid}/root${mountpoint}/marker`));
        } finally {
          child.kill("SIGKILL");
        }
      });
    } finally {
      await run("umount", [mountpoint]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

rootTest("destroy kills what still runs in the hosts and leaves no namespace and no link behind", async (t) => {
  const network = await VirtualNetwork.create({ hosts: ["a", "b"] });
  const { namespaces, rootLink } = network.names;
  const before = await listed();
  t.true(namespaces.every((n) => before.namespaces.includes(n)));
  t.true(before.links.includes(`${rootLink}@`));
  const sleeper = new HostProcess(network.argvIn("a", ["sleep", "600"]));
  await execDone(sleeper.pid, "sleep");
  await network.partition("a", "b");
  await network.destroy();
  await sleeper.finish();
  const after = await listed();
  t.false(
    namespaces.some((n) => after.namespaces.includes(n)),
    after.namespaces,
  );
  t.false(after.links.includes(rootLink), after.links);
});

rootTest(
  "a network's start removes what a crashed run left: its namespaces, their processes and its root link",
  async (t) => {
    const crashing = new HostProcess([process.execPath, "--import", "tsx", CRASHING_RUN]);
    const left = JSON.parse(await crashing.nextLine(60_000)) as {
      namespaces: string[];
      rootLink: string;
      sleeper: number;
    };
    crashing.kill();
    await crashing.finish();
    // Left behind now; another test file's network, starting at the same time, may be the one
    // that removes them: either way a start did.
    const network = await VirtualNetwork.create({ hosts: ["a"] });
    try {
      const after = await listed();
      t.false(
        left.namespaces.some((n) => after.namespaces.includes(n)),
        after.namespaces,
      );
      t.false(after.links.includes(left.rootLink), after.links);
      t.true(network.names.namespaces.every((n) => after.namespaces.includes(n)));
      t.true(
        ["gone", "Z"].includes(stateOf(left.sleeper)),
        `the sleeper left in the crashed run's host is ${stateOf(left.sleeper)}`,
      );
    } finally {
      await network.destroy();
    }
  },
);

rootTest("two networks with the same host names coexist, and one's start and end leave the other alone", async (t) => {
  await withNetwork(["a", "b"], async (first, firstProbes) => {
    const server = await firstProbes.tcpServer("b", PORT);
    try {
      const second = await VirtualNetwork.create({ hosts: ["a", "b"] });
      t.not(second.subnet, first.subnet);
      t.notDeepEqual(second.names, first.names);
      await second.partition("a", "b");
      t.like(await firstProbes.connect("a", "b", PORT, GIVE_UP_MS), { ok: true });
      await second.destroy();
      const { namespaces } = await listed();
      t.true(first.names.namespaces.every((n) => namespaces.includes(n)));
      t.like(await firstProbes.connect("a", "b", PORT, GIVE_UP_MS), { ok: true });
    } finally {
      await server.finish();
    }
  });
});

rootTest("faults between unknown hosts, or of a host with itself, are refused and change nothing", async (t) => {
  await withNetwork(["a", "b"], async (network) => {
    await t.throwsAsync(network.partition("a", "x"), {
      instanceOf: NetworkError,
      message: /no host 'x' in this network \(hosts: root, a, b\)/,
    });
    await t.throwsAsync(network.partition("a", "a"), {
      instanceOf: NetworkError,
      message: /cannot be partitioned from itself/,
    });
    await t.throwsAsync(network.isolate("bridge"), { instanceOf: NetworkError, message: /no host 'bridge'/ });
    t.throws(() => network.argvIn("nowhere", ["true"]), { instanceOf: NetworkError, message: /no host 'nowhere'/ });
    t.deepEqual(network.faults, []);
  });
});

rootTest("a destroyed network refuses every further call", async (t) => {
  const network = await VirtualNetwork.create({ hosts: ["a", "b"] });
  await network.destroy();
  const refused = { instanceOf: NetworkError, message: "the network was destroyed" };
  await t.throwsAsync(network.partition("a", "b"), refused);
  await t.throwsAsync(network.delay("a", 10), refused);
  t.throws(() => network.address("a"), refused);
  await t.notThrowsAsync(network.destroy());
});

test("a bad host name is refused before anything is made", async (t) => {
  for (const hosts of [["A"], ["a-b"], ["abcdefghijklmn"], ["root"], ["bridge"], ["a", "a"], []]) {
    const err = await t.throwsAsync(VirtualNetwork.create({ hosts }), { instanceOf: NetworkError });
    t.is(err?.code, "BAD_INPUT", `hosts ${JSON.stringify(hosts)}: ${err?.message}`);
  }
});

function stateOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "gone";
  }
}
