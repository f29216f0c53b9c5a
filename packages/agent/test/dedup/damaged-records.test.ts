import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { agentV1, createMemoryLogger, LockstepError } from "@lockstep/shared";
import { RequestDeduplicator, RequestStore, toOperationRecord, type DedupRequest } from "../../src/dedup/index.js";
import { CommandFailedError } from "../../src/errors.js";
import { decodeRecordLine, logHeader } from "../../src/dedup/record-line.js";
import { logLines, openStore, tempDir } from "./temp-store.js";

// Outcomes over 64 bytes stay in the log and are read back on replay (as a large response is).
const INLINE = 64;

interface Scripted {
  readonly request: DedupRequest;
  /** What the first lifetime's operation did: its value, a failure, or nothing yet (running). */
  readonly first: { value: unknown } | { error: LockstepError } | "running";
}

const scripted: readonly Scripted[] = [
  {
    request: { requestId: "req-done-00001", method: "StartContainer", vmid: 101, params: { vmid: 101 } },
    first: { value: { started: true } },
  },
  {
    request: { requestId: "req-fail-00001", method: "CreateContainer", vmid: 102, params: { vmid: 102 } },
    first: { error: new CommandFailedError("pct create 102 failed: storage full", 2, "storage full") },
  },
  {
    request: { requestId: "req-big-000001", method: "ReadConfig", vmid: 103, params: { vmid: 103 } },
    first: { value: { config: "x".repeat(200) } },
  },
  {
    request: { requestId: "req-run-000001", method: "StopContainer", vmid: 104, params: { vmid: 104 } },
    first: "running",
  },
];

/** A log as an agent killed mid-operation leaves it: three requests finished, one running. */
async function writeSmallLog(t: ExecutionContext): Promise<Buffer> {
  const dir = tempDir(t);
  const store = await RequestStore.open({ dir, inlineOutcomeBytes: INLINE });
  const dedup = new RequestDeduplicator(store);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  for (const { request, first } of scripted) {
    if (first === "running") void dedup.run(request, () => held).catch(() => undefined);
    else
      await dedup
        .run(request, async () => ("value" in first ? first.value : Promise.reject(first.error)))
        .catch(() => undefined);
  }
  await waitFor(() => store.stats.running === 1);
  const bytes = readFileSync(path.join(dir, "requests.log"));
  release();
  await dedup.idle();
  await store.close();
  return bytes;
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

type Answer = "replayed" | "interrupted" | "ran" | `wrong: ${string}`;

/** What a retry of each scripted request gets from a store opened on `dir`. */
async function answers(dir: string): Promise<{ answers: Answer[]; quarantined: number }> {
  const store = await RequestStore.open({ dir, inlineOutcomeBytes: INLINE, logger: createMemoryLogger() });
  try {
    const dedup = new RequestDeduplicator(store);
    const result: Answer[] = [];
    for (const { request, first } of scripted) result.push(await answer(dedup, request, first));
    return { answers: result, quarantined: store.stats.quarantined };
  } finally {
    await store.close();
  }
}

async function answer(dedup: RequestDeduplicator, request: DedupRequest, first: Scripted["first"]): Promise<Answer> {
  let ran = false;
  try {
    const { value } = await dedup.run(request, async () => {
      ran = true;
      return first !== "running" && "value" in first ? first.value : null;
    });
    if (ran) return "ran";
    return first !== "running" && "value" in first && JSON.stringify(value) === JSON.stringify(first.value)
      ? "replayed"
      : `wrong: replayed ${JSON.stringify(value)}`;
  } catch (err) {
    if (!(err instanceof LockstepError)) return `wrong: ${String(err)}`;
    if (err.code === "INTERRUPTED" && !ran) return "interrupted";
    if (
      first !== "running" &&
      "error" in first &&
      err.code === first.error.code &&
      err.message === first.error.message &&
      !ran
    )
      return "replayed";
    return `wrong: ${err.code} ${err.message}${ran ? " (after running)" : ""}`;
  }
}

/**
 * A fresh directory on tmpfs where the machine has one: the test below opens thousands of stores.
 * As @lockstep/shared's scratchDir (which only makes them under os.tmpdir()): removed after the
 * test if it passed, kept and named in its output if it failed.
 */
function scratchDir(t: ExecutionContext): string {
  const base = existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  const dir = mkdtempSync(path.join(base, "lockstep-damage-"));
  t.teardown(() => {
    if (!t.passed) return t.log(`kept for the failure: ${dir}`);
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  });
  return dir;
}

/** Which line of the log an offset falls in, by name, and whether it is that line's newline. */
function lineAt(bytes: Buffer, offset: number): { name: string; newline: boolean } {
  // (Buffer.lastIndexOf counts a negative offset from the end.)
  const start = offset === 0 ? 0 : bytes.lastIndexOf(0x0a, offset - 1) + 1;
  const line = bytes.toString("utf8", start, bytes.indexOf(0x0a, start));
  if (start === 0) return { name: "header", newline: bytes[offset] === 0x0a };
  const { requestId, fields } = decodeRecordLine(line);
  return { name: `${requestId} ${fields.status}`, newline: bytes[offset] === 0x0a };
}

test("a byte damaged at any offset of the log never replays a wrong answer nor runs a finished request: its request is answered INTERRUPTED, and every other record stays usable", async (t) => {
  t.timeout(5 * 60_000);
  const pristine = await writeSmallLog(t);
  const scratch = scratchDir(t);
  const expected: Answer[] = ["replayed", "replayed", "replayed", "ran"];
  const cases = new Map<string, number>();
  const violations: string[] = [];
  // A bit flipped at every offset; a stray newline at every fourth (each open of a store
  // spawns its flock holder, and the whole suite shares two CPUs).
  for (const [kind, damage, every] of [
    ["bit flip", (b: number) => b ^ 0x01, 1],
    ["stray newline", () => 0x0a, 4],
  ] as const) {
    for (let offset = 0; offset < pristine.length; offset += every) {
      if (damage(pristine[offset] ?? 0) === pristine[offset]) continue;
      const dir = path.join(scratch, `${kind.replace(" ", "-")}-${offset}`);
      const bytes = Buffer.from(pristine);
      bytes[offset] = damage(bytes[offset] ?? 0);
      mkdirSync(dir);
      writeFileSync(path.join(dir, "requests.log"), bytes);
      const where = lineAt(pristine, offset);
      let got: Awaited<ReturnType<typeof answers>>;
      try {
        got = await answers(dir);
      } catch (err) {
        violations.push(`${kind} at ${offset} (${where.name}): the store did not open: ${String(err)}`);
        continue;
      }
      got.answers.forEach((a, i) => {
        const fine = a === expected[i] || a === "interrupted";
        if (!fine) violations.push(`${kind} at ${offset} (${where.name}): ${scripted[i]?.request.requestId} got ${a}`);
      });
      const changed = got.answers.some((a, i) => a !== expected[i]);
      if (changed && got.quarantined === 0)
        violations.push(`${kind} at ${offset} (${where.name}): an answer changed but nothing was set aside`);
      const key = `${kind} in ${where.newline ? `the newline after ${where.name}` : where.name}: ${got.answers.join(", ")}; ${got.quarantined} set aside`;
      cases.set(key, (cases.get(key) ?? 0) + 1);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  t.log([...cases].map(([key, n]) => `${String(n).padStart(4)} × ${key}`).join("\n"));
  t.deepEqual(violations, []);
});

test("a damaged line in the middle of the log is set aside with its bytes, its request is answered INTERRUPTED once and runs at the next retry, and the others replay", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  const dedup = new RequestDeduplicator(first);
  const request = (n: number): DedupRequest => ({
    requestId: `req-mid-0000${n}`,
    method: "StartContainer",
    vmid: 100 + n,
    params: { vmid: 100 + n },
  });
  for (const n of [1, 2, 3]) await dedup.run(request(n), async () => ({ n }));
  await first.close();
  const logPath = path.join(dir, "requests.log");
  const lines = readFileSync(logPath, "utf8").split("\n");
  // Line 4 is the outcome of request 2 (header, 1 running, 1 succeeded, 2 running, 2 succeeded ...).
  const damaged = lines[4]?.replace('"n":2', '"n":7') ?? "";
  writeFileSync(logPath, [...lines.slice(0, 4), damaged, ...lines.slice(5)].join("\n"));

  const store = await openStore(t, dir);
  const again = new RequestDeduplicator(store);
  let runs = 0;
  const run = (n: number) => again.run(request(n), async () => ((runs += 1), { n }));
  await t.throwsAsync(run(2), {
    instanceOf: LockstepError,
    message: /was damaged on disk \(the checksum does not match the line\) and set aside in .*requests\.quarantine/,
  });
  t.is(runs, 0);
  t.deepEqual(await run(1), { value: { n: 1 }, replayed: true });
  t.deepEqual(await run(3), { value: { n: 3 }, replayed: true });
  t.deepEqual(await run(2), { value: { n: 2 }, replayed: false });
  t.is(runs, 1);
  const [kept] = readFileSync(path.join(dir, "requests.quarantine"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { base64: string; candidates: string[]; why: string });
  t.is(Buffer.from(kept?.base64 ?? "", "base64").toString("utf8"), damaged);
  t.deepEqual(kept?.candidates, ["req-mid-00002"]);
  t.is(store.stats.quarantined, 1);
  t.true(
    store.logger.entries.some(
      (e) => e.msg.startsWith("a request record was damaged on disk") && e.requestIds === "req-mid-00002",
    ),
  );
});

test("the log is rewritten without its damaged lines, so the next start finds nothing to set aside", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  await new RequestDeduplicator(first).run(
    { requestId: "req-rewrite-01", method: "StartContainer", vmid: 101, params: {} },
    async () => 1,
  );
  await first.close();
  const logPath = path.join(dir, "requests.log");
  writeFileSync(logPath, readFileSync(logPath, "utf8").replace('"status":"succeeded"', '"status":"succeedeX"'));

  const second = await openStore(t, dir);
  t.is(second.stats.quarantined, 1);
  await second.close();
  t.is((await openStore(t, dir)).stats.quarantined, 0);
  t.true(logLines(dir).every((line, i) => i === 0 || decodeRecordLine(line).requestId === "req-rewrite-01"));
});

test("a large outcome damaged while the agent runs is set aside when a retry reads it, and that retry is answered INTERRUPTED", async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir, { inlineOutcomeBytes: INLINE });
  const dedup = new RequestDeduplicator(store);
  const request: DedupRequest = { requestId: "req-spill-0001", method: "ReadConfig", vmid: 101, params: { vmid: 101 } };
  await dedup.run(request, async () => ({ config: "y".repeat(500) }));
  const logPath = path.join(dir, "requests.log");
  writeFileSync(logPath, readFileSync(logPath, "utf8").replace("yyyyy", "yyzyy"));

  let runs = 0;
  await t.throwsAsync(
    dedup.run(request, async () => ((runs += 1), null)),
    { instanceOf: LockstepError, message: /was damaged on disk/ },
  );
  t.is(runs, 0);
  t.is(store.stats.quarantined, 1);
  t.is(store.get(request.requestId)?.status, "interrupted");
  await dedup.run(request, async () => ((runs += 1), null));
  t.is(runs, 1);
});

test("a damaged record shows as INTERRUPTED to GetOperation", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  await new RequestDeduplicator(first).run(
    { requestId: "req-show-00001", method: "StartContainer", vmid: 101, params: {} },
    async () => 1,
  );
  await first.close();
  const logPath = path.join(dir, "requests.log");
  writeFileSync(logPath, readFileSync(logPath, "utf8").replace(/"startedMs":(\d)/g, '"startedMs":9$1'));

  const record = (await openStore(t, dir)).get("req-show-00001");
  if (!record) return t.fail("the damaged request has no record");
  const shown = toOperationRecord(record);
  t.is(shown.status, agentV1.OperationStatus.INTERRUPTED);
  t.is(shown.error?.reason, agentV1.ErrorReason.INTERRUPTED);
  t.regex(shown.error?.message ?? "", /was damaged on disk/);
});

test("a log of format 1 (before checksums) is read whole and rewritten in the checksummed format", async (t) => {
  const dir = tempDir(t);
  const fingerprint = "a".repeat(64);
  const at = Date.now();
  const v1 = [
    logHeader(1),
    JSON.stringify({
      requestId: "req-old-000001",
      method: "StartContainer",
      vmid: 101,
      fingerprint,
      status: "running",
      startedMs: at,
    }),
    JSON.stringify({
      requestId: "req-old-000001",
      method: "StartContainer",
      vmid: 101,
      fingerprint,
      status: "succeeded",
      startedMs: at,
      finishedMs: at + 1,
      value: { ok: 1 },
    }),
    JSON.stringify({
      requestId: "req-old-000002",
      method: "StopContainer",
      vmid: 102,
      fingerprint,
      status: "failed",
      startedMs: at + 2,
      finishedMs: at + 3,
      error: { code: "COMMAND_FAILED", message: "no", metadata: {} },
    }),
  ];
  writeFileSync(path.join(dir, "requests.log"), `${v1.join("\n")}\n`);

  const store = await openStore(t, dir, { inlineOutcomeBytes: 8 });
  t.like(store.get("req-old-000001"), { status: "succeeded", value: { ok: 1 } });
  t.like(store.get("req-old-000002"), { status: "failed", error: { code: "COMMAND_FAILED", message: "no" } });
  const lines = logLines(dir);
  t.is(lines[0], logHeader(2));
  t.deepEqual(
    lines.slice(1).map((line) => decodeRecordLine(line).requestId),
    ["req-old-000001", "req-old-000002"],
  );
  t.is(store.stats.quarantined, 0);
});

test("a log written by a newer agent's format is refused, not set aside", async (t) => {
  const dir = tempDir(t);
  const json = JSON.stringify({ format: "lockstep-agent-requests", version: 3 });
  writeFileSync(path.join(dir, "requests.log"), `${json} ${createHash("sha256").update(json).digest("hex")}\n`);
  await t.throwsAsync(RequestStore.open({ dir }), {
    instanceOf: LockstepError,
    message: /format 3, written by a newer agent; this agent reads up to 2/,
  });
});

test("a last record that lost its newline is kept, not cut off as a torn write", async (t) => {
  const dir = tempDir(t);
  const first = await openStore(t, dir);
  await new RequestDeduplicator(first).run(
    { requestId: "req-nl-000001", method: "StartContainer", vmid: 101, params: {} },
    async () => 1,
  );
  await first.close();
  const logPath = path.join(dir, "requests.log");
  const text = readFileSync(logPath, "utf8");
  writeFileSync(logPath, `${text.slice(0, -1)}#`);

  const store = await openStore(t, dir);
  t.like(store.get("req-nl-000001"), { status: "succeeded", value: 1 });
  t.is(store.stats.quarantined, 0);
  t.true(readFileSync(logPath, "utf8").endsWith("\n"));
  t.like(decodeRecordLine(logLines(dir).at(-1) ?? ""), { requestId: "req-nl-000001", fields: { status: "succeeded" } });
});
