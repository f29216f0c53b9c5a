import { lstat, readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { systemUser, type SystemUser } from "../../daemon/system-user.js";
import { readFrames, writeFrame } from "../../executor/executor-protocol.js";
import { loadPeerCredentials, peerCredentials, type PeerCredentials } from "../../executor/peer-credentials.js";
import { withinBound } from "../../node/within-bound.js";
import { fail, pass, warn, type CheckOutcome, type DoctorCheck } from "../check.js";
import type { DoctorContext } from "../doctor-context.js";

/**
 * The agent's two processes (docs/security.md, "The agent split"): the root executor answers
 * on its socket, which only the agent's user and root can reach, and the network side that is
 * connected to it runs as that user without a capability. Each is identified by the kernel
 * (SO_PEERCRED), not by its name.
 */
export const executorCheck: DoctorCheck = {
  id: "executor",
  title: "root executor and unprivileged network side",
  async run(ctx) {
    const socket = ctx.config.executor.socket;
    const apart = "the package's two units run them apart";
    if (!socket && ctx.simulated)
      return pass(`one process serves gRPC and runs the simulator's pct (development); ${apart}`);
    if (!socket) return warn(`executorSocket is empty: one root process serves gRPC and runs pct; ${apart}`);
    const stat = await lstat(socket).catch(() => null);
    if (!stat) return fail(`nothing listens at ${socket}: is lockstep-agent-executor running?`);
    if (!stat.isSocket()) return fail(`${socket} is not a socket`);
    let user: SystemUser;
    try {
      user = await systemUser(ctx.config.executor.user, "executorUser");
    } catch (err) {
      return fail((err as Error).message);
    }
    if (stat.mode & 0o007)
      return fail(`${socket} is mode ${(stat.mode & 0o777).toString(8)}: any user may call the executor`);
    await loadPeerCredentials();
    const answer = await withinBound(ask(socket), ctx.options.timeoutMs, null).catch((err: Error) => err);
    if (answer === null) return fail(`the executor at ${socket} did not answer within ${ctx.options.timeoutMs} ms`);
    if (answer instanceof Error) return fail(`the executor at ${socket} did not answer: ${answer.message}`);
    return judge(ctx, socket, stat.gid, user, answer);
  },
};

interface Answer {
  readonly executor: PeerCredentials;
  readonly peers: PeerCredentials[];
}

async function judge(
  ctx: DoctorContext,
  socket: string,
  socketGid: number,
  user: SystemUser,
  answer: Answer,
): Promise<CheckOutcome> {
  if (answer.executor.uid !== 0)
    return fail(`the executor (pid ${answer.executor.pid}) runs as uid ${answer.executor.uid}: only root can run pct`);
  const executor = `the executor (pid ${answer.executor.pid}, root) answers at ${socket}`;
  const network = answer.peers.filter((p) => p.uid === user.uid);
  const rootPeers = answer.peers.filter((p) => p.uid === 0);
  const groupNote = socketGid === user.gid ? "" : `; the socket's group is gid ${socketGid}, not ${user.name}'s`;
  if (rootPeers.length > 0)
    return warn(
      `${executor}; a root process (pid ${rootPeers.map((p) => p.pid).join(", ")}) is connected to it: the network side should run as ${user.name}${groupNote}`,
    );
  if (network.length === 0)
    return warn(`${executor}; no network side is connected: is lockstep-agent running?${groupNote}`);
  const capabilities = await Promise.all(network.map((p) => effectiveCapabilities(ctx, p.pid)));
  const privileged = network.filter((_, i) => capabilities[i] !== 0n);
  if (privileged.length > 0)
    return warn(`${executor}; the network side (pid ${privileged.map((p) => p.pid).join(", ")}) holds capabilities`);
  const seen = `${executor}; the network side (pid ${network.map((p) => p.pid).join(", ")}) runs as ${user.name} without capabilities`;
  return groupNote ? warn(`${seen}${groupNote}`) : pass(seen);
}

/** The executor's credentials and the other connections', over one connection of its own. */
function ask(socket: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const connection = net.connect(socket);
    let executor: PeerCredentials;
    connection.once("connect", () => {
      executor = peerCredentials(connection);
      writeFrame(connection, { id: 1, peers: {} });
    });
    readFrames(
      connection,
      1024 * 1024,
      (frame) => {
        if (frame.id !== 1) return;
        connection.destroy();
        if (frame.error) return reject(new Error(JSON.stringify(frame.error)));
        resolve({ executor, peers: frame.result as PeerCredentials[] });
      },
      (reason) => reject(new Error(reason)),
    );
    connection.once("error", reject);
    connection.once("close", () => reject(new Error("the executor closed the connection")));
  });
}

/** CapEff of /proc/<pid>/status; a process gone since is taken as holding none. */
async function effectiveCapabilities(ctx: DoctorContext, pid: number): Promise<bigint> {
  const status = await readFile(path.join(ctx.config.paths.procRoot, String(pid), "status"), "utf8").catch(() => "");
  const hex = /^CapEff:\s+([0-9a-f]+)$/m.exec(status)?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}
