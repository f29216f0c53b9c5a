import { PctError } from "../node/pct-error.js";
import { openSimNode } from "../node/sim-node.js";
import { updateResources } from "./ha-resources.js";

// The simulated `ha-manager` (pve-ha-manager), enough for tests: `add ct:<vmid> [--state s]`,
// `remove ct:<vmid>`.
try {
  const [command, sid, flag, state] = process.argv.slice(2);
  const { layout } = openSimNode(process.env);
  if (!sid || !/^ct:\d+$/.test(sid) || (command !== "add" && command !== "remove")) throw new PctError("USAGE: ha-manager add|remove ct:<vmid> [--state started|stopped|ignored|disabled]");
  if (command === "add") updateResources(layout, (all) => [...all.filter((r) => r.sid !== sid), { sid, state: flag === "--state" && state ? state : "started" }]);
  else updateResources(layout, (all) => all.filter((r) => r.sid !== sid));
} catch (err) {
  if (!(err instanceof PctError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = err.exitCode;
}
