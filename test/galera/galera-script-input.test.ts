// scripts/galera.sh refuses bad settings and arguments by name, before it touches anything.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";

const GALERA_SH = fileURLToPath(new URL("../../scripts/galera.sh", import.meta.url));
// Past the settings, the script checks for root before it reads any argument.
const asRoot = process.getuid?.() === 0 ? test : test.skip;

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      GALERA_SH,
      args,
      { env: { ...process.env, LOCKSTEP_GALERA_DIR: "/nonexistent/galera", ...env }, timeout: 30_000 },
      (err, _stdout, stderr) => {
        resolve({ code: err ? Number(err.code) : 0, stderr });
      },
    );
  });
}

test("a port base that is not a number is refused by name", async (t) => {
  const { code, stderr } = await run(["status"], { LOCKSTEP_GALERA_PORT_BASE: "34x" });
  t.is(code, 1);
  t.regex(stderr, /LOCKSTEP_GALERA_PORT_BASE must be a number from 1024 to 65502, got '34x'/);
});

test("a port base whose last port would pass 65535 is refused", async (t) => {
  const { code, stderr } = await run(["status"], { LOCKSTEP_GALERA_PORT_BASE: "65503" });
  t.is(code, 1);
  t.regex(stderr, /LOCKSTEP_GALERA_PORT_BASE must be a number from 1024 to 65502, got '65503'/);
});

test("a sync timeout of zero is refused by name", async (t) => {
  const { code, stderr } = await run(["start"], { LOCKSTEP_GALERA_SYNC_TIMEOUT: "0" });
  t.is(code, 1);
  t.regex(stderr, /LOCKSTEP_GALERA_SYNC_TIMEOUT must be a positive number of seconds, got '0'/);
});

test("an unknown command prints the usage and exits 2", async (t) => {
  const { code, stderr } = await run(["restart"]);
  t.is(code, 2);
  t.regex(
    stderr,
    /^usage: .*galera\.sh start\|stop\|status\|url \[n\]\|writer\|kill-writer\|node <n> start\|stop\|kill\|pause\|resume$/m,
  );
});

asRoot("a node that is not n1, n2 or n3 is refused by name", async (t) => {
  const { code, stderr } = await run(["node", "n4", "stop"]);
  t.is(code, 1);
  t.regex(stderr, /no node 'n4': the nodes are n1, n2 and n3/);
});

asRoot("an unknown node action prints the node usage", async (t) => {
  const { code, stderr } = await run(["node", "n1", "reboot"]);
  t.is(code, 1);
  t.regex(stderr, /usage: .* node <n1\|n2\|n3> start\|stop\|kill\|pause\|resume/);
});
