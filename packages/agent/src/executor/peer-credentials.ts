import type { Socket } from "node:net";

/** Who is at the other end of a Unix socket, as the kernel recorded it at connect(2). */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

// <sys/socket.h> on Linux: SOL_SOCKET 1, SO_PEERCRED 17; struct ucred { pid_t; uid_t; gid_t; }.
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const UCRED_BYTES = 12;

type Getsockopt = (fd: number, level: number, name: number, out: object, length: number[]) => number;

let libc: { getsockopt: Getsockopt; errno: () => number } | null = null;
let loading: Promise<void> | null = null;

/**
 * Loads libc's getsockopt(2) through koffi, once. Only the executor and the doctor call it
 * (koffi's native module is loaded then, not by every command of the agent's bundle).
 */
export function loadPeerCredentials(): Promise<void> {
  loading ??= loadLibc();
  return loading;
}

async function loadLibc(): Promise<void> {
  const { default: koffi } = await import("koffi");
  koffi.struct("ucred", { pid: "int32", uid: "uint32", gid: "uint32" });
  const getsockopt = koffi
    .load("libc.so.6")
    .func("int getsockopt(int fd, int level, int name, _Out_ ucred *value, _Inout_ uint32 *length)") as Getsockopt;
  libc = { getsockopt, errno: () => koffi.errno() };
}

/**
 * SO_PEERCRED of an accepted Unix socket: Node has no getsockopt(2), so libc's is called
 * through koffi on the socket's descriptor. The kernel took these at connect(2): a peer
 * cannot forge them, and a descriptor passed on later still names who connected.
 * `loadPeerCredentials` must have resolved first.
 */
export function peerCredentials(socket: Socket): PeerCredentials {
  if (!libc) throw new Error("peer credentials were not loaded (loadPeerCredentials)");
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("the socket has no file descriptor");
  const value: Partial<PeerCredentials> = {};
  const length = [UCRED_BYTES];
  if (libc.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, value, length) !== 0)
    throw new Error(`getsockopt(SO_PEERCRED) failed: errno ${libc.errno()}`);
  if (typeof value.pid !== "number" || typeof value.uid !== "number" || typeof value.gid !== "number")
    throw new Error("getsockopt(SO_PEERCRED) returned no credentials");
  return { pid: value.pid, uid: value.uid, gid: value.gid };
}
