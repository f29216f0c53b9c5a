import type { Socket } from "node:net";
import { LockstepError } from "@lockstep/shared";
import { knownReasonCode } from "../dedup/failure-policy.js";

/**
 * The executor's socket speaks JSON lines. The network process sends calls and notices:
 *   {"id":1,"read":"ListContainers","request":{...}}
 *   {"id":2,"mutate":"CreateContainer","request":{...},"client":"lockstep-api"}
 *   {"release":"<request ID>"}              its outcome is recorded; the executor may forget it
 *   {"observe":{"sinceMs":<ms>}}            events from then on (and those held since), pct timings, /etc/pve changes
 *   {"id":3,"peers":{}}                     the credentials of the other connections (for the doctor)
 * and the executor answers each call by its ID, and reports what it observes:
 *   {"id":1,"result":{...}}  {"id":2,"error":{"code":"LOCK_HELD","message":"...","metadata":{...}}}
 *   {"event":{...}}  {"pct":{"command":"create","outcome":"ok","seconds":1.2}}  {"clusterFs":{...}}
 * Requests are contract messages in ts-proto's JSON mapping (bytes as base64), decoded on the
 * executor's side by the operation's own codec (operation-catalog.ts).
 */
export type CallFrame =
  | { readonly id: number; readonly read: string; readonly request: unknown }
  | { readonly id: number; readonly mutate: string; readonly request: unknown; readonly client?: string };

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly metadata: Record<string, string>;
}

/** An error as it crosses the socket: its reason code, message and metadata, nothing else (no stack). */
export function toWireError(err: unknown): WireError {
  if (err instanceof LockstepError) return { code: err.code, message: err.message, metadata: { ...err.metadata } };
  return { code: "INTERNAL", message: err instanceof Error ? err.message : String(err), metadata: {} };
}

/** The error the executor raised, as the same reason code: the gRPC mapping treats it as its own. */
export function fromWireError(wire: unknown): LockstepError {
  if (!isRecord(wire) || typeof wire.message !== "string")
    return new LockstepError("INTERNAL", "the executor sent a malformed error");
  const metadata = isRecord(wire.metadata)
    ? Object.fromEntries(Object.entries(wire.metadata).filter((e): e is [string, string] => typeof e[1] === "string"))
    : {};
  return new LockstepError(knownReasonCode(wire.code), wire.message, metadata);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Writes one frame as one line. */
export function writeFrame(socket: Socket, frame: unknown): void {
  socket.write(`${JSON.stringify(frame)}\n`);
}

/**
 * Splits a socket's bytes into JSON frames, one per line. A line longer than `maxLineBytes`
 * or that is not a JSON object is the peer's fault: `onBad` is called and reading stops.
 */
export function readFrames(
  socket: Socket,
  maxLineBytes: number,
  onFrame: (frame: Record<string, unknown>) => void,
  onBad: (reason: string) => void,
): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let bad = false;
  const fail = (reason: string) => {
    bad = true;
    pending = [];
    onBad(reason);
  };
  socket.on("data", (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1 && !bad; nl = chunk.indexOf(10, start)) {
      const line = Buffer.concat([...pending, chunk.subarray(start, nl)]).toString("utf8");
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      if (line.length > maxLineBytes) return fail(`a frame of ${line.length} bytes is over ${maxLineBytes}`);
      let frame: unknown;
      try {
        frame = JSON.parse(line);
      } catch {
        return fail("a frame is not JSON");
      }
      if (!isRecord(frame)) return fail("a frame is not a JSON object");
      onFrame(frame);
    }
    if (bad) return;
    pending.push(chunk.subarray(start));
    pendingBytes += chunk.length - start;
    if (pendingBytes > maxLineBytes) fail(`a frame is over ${maxLineBytes} bytes`);
  });
}
