// A run that crashes (node --import tsx crashing-run.ts): it makes a network of hosts a and b,
// leaves a sleeping process in host a, prints {"namespaces","rootLink","sleeper"} and waits to
// be SIGKILLed by its test, leaving everything behind as a crashed fault suite would.
import { spawn } from "node:child_process";
import { VirtualNetwork } from "../virtual-network.js";
import { execDone } from "./exec-done.js";

const network = await VirtualNetwork.create({ hosts: ["a", "b"] });
const [file, ...args] = network.argvIn("a", ["sleep", "600"]);
const sleeper = spawn(file!, args, { detached: true, stdio: "ignore" });
sleeper.unref();
await execDone(sleeper.pid!, "sleep");
process.stdout.write(`${JSON.stringify({ ...network.names, sleeper: sleeper.pid })}\n`);
setInterval(() => undefined, 60_000);
