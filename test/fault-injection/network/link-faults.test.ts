import test from "ava";
import { NetworkError } from "./network-error.js";
import { ROOT_HOST } from "./network-names.js";
import { Probes } from "./support/probes.js";
import { NOT_ROOT, rootTest } from "./support/root-only.js";
import { VirtualNetwork, type DelayMechanism } from "./virtual-network.js";

// Delay and loss on real links: round trips measured between two hosts, datagrams counted.
const PORT = 7000;
const DELAY_MS = 80;
const JITTER_MS = 40;
const ROUND_TRIPS = 12;
const DATAGRAMS = 2000;
const LOSS_PERCENT = 30;

async function withNetwork(
  options: { delayBy?: DelayMechanism },
  body: (network: VirtualNetwork, probes: Probes) => Promise<void>,
): Promise<void> {
  const network = await VirtualNetwork.create({ hosts: ["a", "b"], ...options });
  try {
    await body(network, new Probes(network));
  } finally {
    await network.destroy();
  }
}

/** Whether this kernel has sch_netem, asked of a scratch network (as root only). */
async function kernelHasNetem(): Promise<boolean> {
  const network = await VirtualNetwork.create({ hosts: ["probe"] });
  try {
    return (await network.delayMechanism()) === "netem";
  } finally {
    await network.destroy();
  }
}
const NO_NETEM =
  NOT_ROOT || (await kernelHasNetem())
    ? null
    : "this kernel has no sch_netem (CONFIG_NET_SCH_NETEM): delays take the queue delayer";

const median = (values: readonly number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const shown = (values: readonly number[]) => values.map((ms) => ms.toFixed(1)).join(" ");

for (const delayBy of ["netem", "queue"] as const) {
  const title = `a delay of ${DELAY_MS} ms by ${delayBy} makes every round trip from the host take at least that long, and heal takes it away`;
  if (delayBy === "netem" && NO_NETEM) {
    test.skip(`${title} [skipped: ${NO_NETEM}]`, () => undefined);
    continue;
  }
  rootTest(title, async (t) => {
    await withNetwork({ delayBy }, async (network, probes) => {
      const server = await probes.tcpServer("b", PORT);
      try {
        const fault = await network.delay("a", DELAY_MS);
        const delayed = await probes.roundTrips("a", "b", PORT, ROUND_TRIPS);
        t.log(`delayed round trips (ms): ${shown(delayed)}`);
        t.true(Math.min(...delayed) >= DELAY_MS, `the shortest delayed round trip took ${Math.min(...delayed)} ms`);
        await fault.heal();
        const healed = await probes.roundTrips("a", "b", PORT, ROUND_TRIPS);
        t.log(`healed round trips (ms): ${shown(healed)}`);
        t.true(median(healed) < DELAY_MS / 2, `the median healed round trip took ${median(healed)} ms`);
      } finally {
        await server.finish();
      }
    });
  });
}

rootTest(`a delay's jitter spreads the round trips over ${DELAY_MS} ms +/- ${JITTER_MS} ms`, async (t) => {
  await withNetwork({}, async (network, probes) => {
    const server = await probes.tcpServer("b", PORT);
    try {
      await network.delay("a", DELAY_MS, JITTER_MS);
      const samples = await probes.roundTrips("a", "b", PORT, 30);
      t.log(`round trips (ms) by ${await network.delayMechanism()}: ${shown(samples)}`);
      t.true(Math.min(...samples) >= DELAY_MS - JITTER_MS, `the shortest took ${Math.min(...samples)} ms`);
      t.true(
        Math.max(...samples) - Math.min(...samples) >= JITTER_MS / 2,
        `they spread over ${Math.max(...samples) - Math.min(...samples)} ms only`,
      );
    } finally {
      await server.finish();
    }
  });
});

rootTest(
  `a loss of ${LOSS_PERCENT} % drops about that share of what the host sends, and heal takes it away`,
  async (t) => {
    await withNetwork({}, async (network, probes) => {
      const count = async () => {
        const counter = await probes.udpCounter("b", PORT);
        await probes.sendDatagrams("a", "b", PORT, DATAGRAMS);
        const [report] = await counter.finish();
        return (JSON.parse(report!) as { received: number }).received;
      };
      const fault = await network.loss("a", LOSS_PERCENT);
      const received = await count();
      const lost = (100 * (DATAGRAMS - received)) / DATAGRAMS;
      t.log(`${received} of ${DATAGRAMS} datagrams arrived: ${lost.toFixed(1)} % lost`);
      // The binomial spread at 2000 datagrams is 1 %; 5 % either way is far outside it.
      t.true(Math.abs(lost - LOSS_PERCENT) <= 5, `${lost} % lost`);
      await fault.heal();
      t.is(await count(), DATAGRAMS);
    });
  },
);

rootTest("a second delay or loss of one host is refused until the first is healed", async (t) => {
  await withNetwork({}, async (network) => {
    const delay = await network.delay("a", 10);
    const loss = await network.loss("a", 5);
    await t.throwsAsync(network.delay("a", 20), {
      instanceOf: NetworkError,
      message: "a already has a delay; heal it first",
    });
    await t.throwsAsync(network.loss("a", 10), {
      instanceOf: NetworkError,
      message: "a already has a loss; heal it first",
    });
    await t.notThrowsAsync(network.delay("b", 20));
    await delay.heal();
    await loss.heal();
    await t.notThrowsAsync(network.delay("a", 20));
    await t.notThrowsAsync(network.loss("a", 10));
    t.deepEqual(network.faults.map((f) => `${f.kind} ${f.hosts.join()}`).sort(), ["delay a", "delay b", "loss a"]);
  });
});

rootTest("two delays of one host asked at once: one is put in place, the other refused", async (t) => {
  await withNetwork({}, async (network) => {
    const outcomes = await Promise.allSettled([network.delay("a", 10), network.delay("a", 20)]);
    t.is(outcomes.filter((o) => o.status === "fulfilled").length, 1);
    const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    t.like(refused?.reason, { code: "FAULT_ACTIVE" });
    t.is(network.faults.length, 1);
  });
});

rootTest(
  "a queue delayer that dies is reported, and its host's packets then pass undelayed rather than stop",
  async (t) => {
    const logged: string[] = [];
    const network = await VirtualNetwork.create({
      hosts: ["a", "b"],
      delayBy: "queue",
      log: (line) => logged.push(line),
    });
    try {
      const probes = new Probes(network);
      const server = await probes.tcpServer("b", PORT);
      try {
        await network.delay("a", 500);
        const [delayer] = (await network.run(ROOT_HOST, ["ip", "netns", "pids", network.namespace("a")]))
          .split(/\s+/)
          .filter(Boolean)
          .map(Number);
        process.kill(delayer!, "SIGKILL");
        for (const end = Date.now() + 10_000; !logged.length && Date.now() < end;)
          await new Promise((r) => setTimeout(r, 20));
        t.regex(logged.join("\n"), new RegExp(`the delayer of ${network.namespace("a")} exited SIGKILL`));
        const samples = await probes.roundTrips("a", "b", PORT, ROUND_TRIPS);
        t.true(median(samples) < 250, `round trips after the delayer died: ${shown(samples)}`);
      } finally {
        await server.finish();
      }
    } finally {
      await network.destroy();
    }
  },
);

rootTest("delays and losses out of range, and a delay of the root namespace, are refused", async (t) => {
  await withNetwork({}, async (network) => {
    for (const [what, call] of [
      ["no delay", () => network.delay("a", 0)],
      ["a delay over a minute", () => network.delay("a", 60_001)],
      ["a jitter over the delay", () => network.delay("a", 10, 11)],
      ["a negative jitter", () => network.delay("a", 10, -1)],
      ["a delay of the root namespace", () => network.delay(ROOT_HOST, 10)],
      ["no loss", () => network.loss("a", 0)],
      ["a loss too small to happen", () => network.loss("a", 0.004)],
      ["a loss over 100 %", () => network.loss("a", 100.5)],
      ["a loss that is no number", () => network.loss("a", Number.NaN)],
    ] as const) {
      const err = await t.throwsAsync(call(), { instanceOf: NetworkError }, what);
      t.is(err?.code, "BAD_INPUT", `${what}: ${err?.message}`);
    }
    t.deepEqual(network.faults, []);
  });
});
