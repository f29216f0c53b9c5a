/** What a fault does between the hosts of a network. */
export type NetworkFaultKind =
  /** Two hosts' packets to each other dropped, both ways. */
  | "partition"
  /** A host's packets to and from everyone dropped. */
  | "isolate"
  /** What a host sends held for a while. */
  | "delay"
  /** A share of what a host sends dropped. */
  | "loss";

/** One fault in place; `heal` undoes it alone (again, it does nothing). */
export interface NetworkFault {
  readonly kind: NetworkFaultKind;
  readonly hosts: readonly string[];
  heal(): Promise<void>;
}
