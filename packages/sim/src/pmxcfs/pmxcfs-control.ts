import net from "node:net";
import { PmxcfsError } from "./pmxcfs-error.js";

/** A command the server obeys (see packages/sim/pmxcfs/pmxcfs-server.py apply_control). */
export type ServerCommand = "ping" | "pause" | "resume" | "quorum" | "no-quorum" | "release";

/**
 * Sends one command to the server's control socket and returns its one-line answer, which
 * the server sends only once the command is in force. Fails after `timeoutMs`.
 */
export function sendControl(socketPath: string, command: ServerCommand, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const socket = net.connect(socketPath);
    const fail = (why: string): void => {
      socket.destroy();
      reject(new PmxcfsError("CONTROL_FAILED", `pmxcfs control '${command}' failed: ${why}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.on("error", (err) => fail(err.message));
    socket.on("connect", () => socket.write(`${command}\n`));
    socket.on("data", (chunk) => (answer += chunk.toString()));
    socket.on("end", () => {
      socket.destroy();
      const line = answer.trim();
      if (line.startsWith("error")) reject(new PmxcfsError("CONTROL_FAILED", `pmxcfs control '${command}': ${line}`));
      else resolve(line);
    });
  });
}
