/**
 * What happened. Lock kinds follow the vocabulary: detected, cleared, blocked;
 * `policy-refused`: the node's policy refused a request (policy/node-policy.ts).
 */
export type NodeEventKind =
  | "lock-detected"
  | "lock-cleared"
  | "lock-blocked"
  | "hypervisor-unresponsive"
  | "operation-interrupted"
  | "policy-refused";

/** One event on a node, as logged and as streamed through WatchEvents. */
export interface NodeEvent {
  readonly atMs: number;
  readonly node: string;
  readonly vmid: number;
  readonly kind: NodeEventKind;
  readonly detail: string;
  readonly requestId?: string;
  /** The policy rule a `policy-refused` event names (its metrics label; the detail says it too). */
  readonly rule?: string;
}
