import v8 from "node:v8";

/**
 * Lets the JS heap grow at most `percent` past what the last full collection kept alive, in
 * place of V8's own factor; 0 leaves V8's choice. Why: the agent is a long-lived daemon whose
 * requests are bursts of short-lived objects. With V8's factor (chosen from its collection
 * speed, up to 4 for a small heap) a burst of 100,000 requests let promoted garbage pile up
 * to 125 MiB of heap around 35 MiB of live data, and the pages stay resident afterwards;
 * with 20 % the same burst peaked at about half (bench/agent-memory.ts prints both, with the
 * CPU each costs). Node takes this V8 flag only on its command line or here, not from
 * NODE_OPTIONS; V8 reads it at each limit it computes, so it holds from the next collection.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
