/** What happened. Lock kinds follow the vocabulary: detected, cleared, blocked. */
export type NodeEventKind =
  "lock-detected" | "lock-cleared" | "lock-blocked" | "hypervisor-unresponsive" | "operation-interrupted";

/** One event on a node, as logged and as streamed through WatchEvents. */
export interface NodeEvent {
  readonly atMs: number;
  readonly node: string;
  readonly vmid: number;
  readonly kind: NodeEventKind;
  readonly detail: string;
  readonly requestId?: string;
}
