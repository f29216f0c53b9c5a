// A process that holds live data and churns through short-lived objects, as the agent does under
// a burst of requests, and prints the largest JS heap it had: argv[2] is the heap growth percent.
import v8 from "node:v8";
import { limitHeapGrowth } from "../../src/daemon/heap-growth.js";

limitHeapGrowth(Number(process.argv[2]));
const live: { i: number; s: string }[] = [];
for (let i = 0; i < 200_000; i++) live.push({ i, s: `live-${i}-${"x".repeat(40)}` });
// Each object lives through 65,536 newer ones, long enough to be promoted to the old generation.
const ring: unknown[] = new Array(1 << 16);
let peak = 0;
for (let i = 0; i < 3_000_000; i++) {
  ring[i & 0xffff] = { i, s: `churn-${i}` };
  if ((i & 0x3fff) === 0) peak = Math.max(peak, v8.getHeapStatistics().total_heap_size);
}
process.stdout.write(`${JSON.stringify({ peak, live: live.length })}\n`);
