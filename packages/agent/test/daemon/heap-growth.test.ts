import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";

const CHURN = fileURLToPath(new URL("./heap-churn.ts", import.meta.url));

/** The largest JS heap of a process that churns through promoted garbage around live data. */
async function peakHeap(percent: number): Promise<number> {
  // The agent's unit runs Node with small semi-spaces, which promotes a burst's objects sooner.
  const args = ["--max-semi-space-size=1", "--import", "tsx", CHURN, String(percent)];
  const { stdout } = await promisify(execFile)(process.execPath, args);
  return (JSON.parse(stdout) as { peak: number }).peak;
}

test("a heap growth limit keeps garbage from piling up to several times the live data, as V8's own factor lets it", async (t) => {
  const [limited, v8Own] = [await peakHeap(20), await peakHeap(0)];
  t.log(
    `peak heap: ${(limited / 2 ** 20).toFixed(1)} MiB limited to 20 %, ${(v8Own / 2 ** 20).toFixed(1)} MiB with V8's factor`,
  );
  t.true(limited < v8Own * 0.6);
});
