import { chmodSync, chownSync, lstatSync, rmSync } from "node:fs";
import net, { type Socket } from "node:net";
import { ConfigError, requestIdProblem, vmidProblem, type Logger } from "@lockstep/shared";
import { InvalidArgumentError } from "../errors.js";
import type { CallerScope } from "./executor.js";
import type { LocalExecutor } from "./local-executor.js";
import { isOperationName, OPERATIONS, type MutatingName, type ReadName } from "./operation-catalog.js";
import { loadPeerCredentials, peerCredentials, type PeerCredentials } from "./peer-credentials.js";
import { isRecord, readFrames, toWireError, writeFrame } from "./executor-protocol.js";

export interface ExecutorServerOptions {
  readonly socket: string;
  readonly executor: LocalExecutor;
  /** The network process's user: its UID may connect, and the socket file is its group's. Root always may. */
  readonly peer: { readonly uid: number; readonly gid: number };
  readonly maxMessageBytes: number;
  readonly logger: Logger;
}

export interface ExecutorServer {
  /** Stops accepting, closes every connection; running operations are the executor's to finish. */
  close(): Promise<void>;
}

// A peer that does not read what it asked for is not worth the executor's memory.
const MAX_UNREAD_BYTES = 64 * 1024 * 1024;

/**
 * The root executor's socket. Only the network process's user (and root) get in: the socket
 * file is 0660 and the user's group's, and each connection's SO_PEERCRED is checked, since a
 * file's mode can be loosened by mistake and the kernel's record of the peer cannot. Each
 * call names an allow-listed operation and carries a contract message, decoded by that
 * operation's codec; anything else closes the connection.
 */
export async function startExecutorServer(options: ExecutorServerOptions): Promise<ExecutorServer> {
  const { logger } = options;
  await loadPeerCredentials();
  await removeStaleSocket(options.socket);
  const connections = new Map<Socket, PeerCredentials>();
  const server = net.createServer((socket) => {
    let peer: PeerCredentials;
    try {
      peer = peerCredentials(socket);
    } catch (err) {
      logger.warn("refused a connection whose peer could not be identified", { err });
      return socket.destroy();
    }
    if (peer.uid !== 0 && peer.uid !== options.peer.uid) {
      logger.warn("refused a connection from a user that is not the agent's", {
        ...peer,
        allowedUid: options.peer.uid,
      });
      return socket.destroy();
    }
    connections.set(socket, peer);
    socket.on("close", () => connections.delete(socket));
    serveConnection(socket, peer, options, () => [...connections.values()]);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.socket, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new ConfigError(
      `executorSocket ${options.socket} cannot be bound: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  chownSync(options.socket, 0, options.peer.gid);
  chmodSync(options.socket, 0o660);
  logger.info("executor listening", { socket: options.socket, peerUid: options.peer.uid });
  return {
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      connections.forEach((_, c) => c.destroy());
      await closed;
    },
  };
}

/**
 * A socket file left by a previous life is removed. One that a live executor answers on is not
 * (two executors would each run pct for the same node), and nor is anything but a socket.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket())
    throw new ConfigError(`executorSocket ${path} exists and is not a socket; the executor will not replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path, () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) throw new ConfigError(`executorSocket ${path}: another executor answers there already`);
  rmSync(path);
}

function serveConnection(
  socket: Socket,
  peer: PeerCredentials,
  options: ExecutorServerOptions,
  peers: () => PeerCredentials[],
): void {
  const { executor, logger } = options;
  const log = logger.child({ peerPid: peer.pid, peerUid: peer.uid });
  let unobserve: (() => void) | null = null;
  socket.on("close", () => unobserve?.());
  socket.on("error", (err) => log.debug("executor connection failed", { err: err.message }));
  const send = (frame: unknown) => {
    if (socket.destroyed) return;
    if (socket.writableLength > MAX_UNREAD_BYTES) {
      log.warn("closing a connection whose peer does not read its answers", { unread: socket.writableLength });
      return socket.destroy();
    }
    writeFrame(socket, frame);
  };
  const refuse = (reason: string) => {
    log.warn("closing a connection that broke the executor's protocol", { reason });
    socket.destroy();
  };
  readFrames(
    socket,
    2 * options.maxMessageBytes + 65_536,
    (frame) => {
      if (typeof frame.release === "string") return executor.release(frame.release);
      if (isRecord(frame.observe) && typeof frame.observe.sinceMs === "number") {
        unobserve?.();
        unobserve = executor.observe(
          {
            event: (event) => send({ event }),
            pct: (command, outcome, seconds) => send({ pct: { command, outcome, seconds } }),
            clusterFs: (status) => send({ clusterFs: status }),
          },
          frame.observe.sinceMs,
        );
        return;
      }
      if (typeof frame.id !== "number") return refuse("a frame is neither a call nor a notice");
      const id = frame.id;
      // Who is connected (the network side's process, for the doctor): the kernel's word for each.
      if (isRecord(frame.peers)) return send({ id, result: peers().filter((p) => p.pid !== peer.pid) });
      call(frame, options, log).then(
        (result) => send({ id, result }),
        (err: unknown) => send({ id, error: toWireError(err) }),
      );
    },
    refuse,
  );
}

/** One call: its name must be on the allow-list, its request decodes as that operation's message. */
async function call(frame: Record<string, unknown>, options: ExecutorServerOptions, logger: Logger): Promise<unknown> {
  const { executor } = options;
  if (typeof frame.read === "string") {
    const name = frame.read;
    if (!isOperationName(name) || OPERATIONS[name].kind !== "read")
      throw new InvalidArgumentError("operation", `'${name}' is not a read the executor performs`);
    const op = OPERATIONS[name as ReadName];
    const result = await executor.read(name as ReadName, op.request.fromJSON(frame.request) as never);
    return (op.response.toJSON as (r: unknown) => unknown)(result);
  }
  const name = frame.mutate;
  if (typeof name !== "string" || !isOperationName(name) || OPERATIONS[name].kind !== "mutating")
    throw new InvalidArgumentError("operation", `'${String(name)}' is not an operation the executor performs`);
  const op = OPERATIONS[name as MutatingName];
  const request = op.request.fromJSON(frame.request);
  const idProblem = requestIdProblem(request.requestId);
  if (idProblem) throw new InvalidArgumentError("request_id", idProblem);
  const vmidInvalid = vmidProblem(request.vmid);
  if (vmidInvalid) throw new InvalidArgumentError("vmid", vmidInvalid);
  const client = typeof frame.client === "string" ? frame.client : undefined;
  const caller: CallerScope = {
    requestId: request.requestId,
    logger: logger.child({ rpc: name, requestId: request.requestId, vmid: request.vmid }),
    // Never aborted: a network process that goes away leaves its operations to finish here.
    signal: new AbortController().signal,
    ...(client ? { client } : {}),
  };
  const result = await executor.mutate(name as MutatingName, request as never, caller);
  return (op.response.toJSON as (r: unknown) => unknown)(result);
}
