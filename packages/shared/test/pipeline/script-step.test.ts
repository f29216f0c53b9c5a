import test from "ava";
import { checkSpec, systemClock, type ResolvedSpec } from "../../src/index.js";
import { PipelineContext, type NodeAgentPort } from "../../src/pipeline/pipeline-context.js";
import { scriptStep } from "../../src/pipeline/steps/script-step.js";

const SCRIPT = { content: "echo hello > /srv/hello\n", timeout_ms: 60_000 };

function spec(): ResolvedSpec {
  const checked = checkSpec({
    hostname: "web-1",
    source: { template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" },
    script: SCRIPT,
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

/**
 * A container's files behind the agent's calls, with the agent's request-ID dedup for changes
 * (a known ID is answered from its first outcome). `loseAnswer` names a push whose effect
 * happens but whose answer never reaches the caller, as when a deadline passes under load.
 */
function node(loseAnswer?: string) {
  const files = new Map<string, string>();
  const answered = new Map<string, unknown>();
  let runs = 0;
  const once = <T>(requestId: string, act: () => T): T => {
    if (!answered.has(requestId)) answered.set(requestId, act());
    return answered.get(requestId) as T;
  };
  const agent = {
    exec: async ({ requestId, argv }: { requestId: string; argv: string[] }) => {
      if (argv[0] === "cat")
        return files.has(argv[1]!)
          ? { exitCode: 0, stdout: Buffer.from(files.get(argv[1]!)!), stderr: Buffer.alloc(0) }
          : { exitCode: 1, stdout: Buffer.alloc(0), stderr: Buffer.from("No such file") };
      return once(
        requestId,
        () => (runs++, { exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), durationMs: 5 }),
      );
    },
    pushFile: async ({ requestId, path, content }: { requestId: string; path: string; content: Buffer }) => {
      const answer = once(requestId, () => (files.set(path, content.toString()), { changed: true }));
      if (path.endsWith(loseAnswer ?? "\0")) throw new Error("DEADLINE_EXCEEDED: the answer was lost");
      return answer;
    },
  } as unknown as NodeAgentPort;
  return { agent, files, runs: () => runs };
}

const attempt = (agent: NodeAgentPort, job: string, n: number) =>
  new PipelineContext({
    agent,
    vmid: 101,
    spec: spec(),
    ownershipTag: "lockstep-x",
    requestIdBase: job,
    keepLast: 5,
    history: [],
    attempt: n,
    clock: systemClock,
  });

test("a script whose stamp an earlier attempt of the same job wrote is reported changed, and not run again", async (t) => {
  const { agent, runs } = node("app-script.done");
  await t.throwsAsync(scriptStep(SCRIPT).run(attempt(agent, "job-1", 1)), { message: /DEADLINE_EXCEEDED/ });
  const outcome = await scriptStep(SCRIPT).run(attempt(agent, "job-1", 2));
  t.like(outcome, { changed: true, detail: "ran in an earlier attempt of this job" });
  t.is(runs(), 1);
});

test("a script another job already ran to success is already done for a later job, and not run again", async (t) => {
  const { agent, runs } = node();
  t.like(await scriptStep(SCRIPT).run(attempt(agent, "job-1", 1)), { changed: true });
  t.like(await scriptStep(SCRIPT).run(attempt(agent, "job-2", 1)), { changed: false, status: "skipped" });
  t.is(runs(), 1);
});

test("a stamp holding only the script's SHA-256, as written before stamps named their job, still counts as done", async (t) => {
  const { agent, files, runs } = node();
  await scriptStep(SCRIPT).run(attempt(agent, "job-1", 1));
  const path = [...files.keys()].find((p) => p.endsWith("app-script.done"))!;
  files.set(path, `${files.get(path)!.split(" ")[0]}\n`);
  t.like(await scriptStep(SCRIPT).run(attempt(agent, "job-2", 1)), { changed: false, status: "skipped" });
  t.is(runs(), 1);
});
