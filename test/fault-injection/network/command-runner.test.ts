import test from "ava";
import { systemCommands } from "./command-runner.js";
import { NetworkError } from "./network-error.js";

test("a command's stdout is its answer, and its input reaches its stdin", async (t) => {
  t.is(await systemCommands.run(["cat"], { input: "nft script\n" }), "nft script\n");
});

test("a command that fails is a COMMAND_FAILED naming its argv, exit code and stderr", async (t) => {
  const err = await t.throwsAsync(systemCommands.run(["ls", "/no/such/dir"]), { instanceOf: NetworkError });
  t.is(err?.code, "COMMAND_FAILED");
  t.deepEqual(err?.command?.argv, ["ls", "/no/such/dir"]);
  t.is(err?.command?.exitCode, 2);
  t.regex(err?.message ?? "", /^ls \/no\/such\/dir exited 2: .*No such file or directory/);
});

test("a command that outlives its timeout is killed and is a COMMAND_TIMEOUT", async (t) => {
  const started = Date.now();
  const err = await t.throwsAsync(systemCommands.run(["sleep", "30"], { timeoutMs: 200 }), {
    instanceOf: NetworkError,
  });
  t.is(err?.code, "COMMAND_TIMEOUT");
  t.is(err?.message, "sleep 30 did not end within 200 ms and was killed");
  t.true(Date.now() - started < 10_000);
});

test("a program that is not installed is UNSUPPORTED and names the prerequisites script", async (t) => {
  const err = await t.throwsAsync(systemCommands.run(["lockstep-no-such-program"]), { instanceOf: NetworkError });
  t.is(err?.code, "UNSUPPORTED");
  t.regex(err?.message ?? "", /lockstep-no-such-program is not installed \(scripts\/netns-prereqs\.sh/);
});
