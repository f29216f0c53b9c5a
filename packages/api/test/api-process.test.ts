import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { createTestDatabase } from "./support/test-database.js";

const BIN = fileURLToPath(new URL("../bin/lockstep-api.js", import.meta.url));

function run(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, exited, output: () => output };
}

test("lockstep-api migrates, serves over real HTTP and stops cleanly on SIGTERM", async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const api = run({ LOCKSTEP_DATABASE_URL: db.url }, ["--listen", "127.0.0.1:0"]);
  let address = "";
  for (let i = 0; i < 200 && !address; i++) {
    address = /"msg":"api listening".*"address":"([^"]+)"/.exec(api.output())?.[1] ?? "";
    await new Promise((r) => setTimeout(r, 50));
  }
  t.truthy(address, api.output());
  const send = () => fetch(`http://${address}/v1/nodes`, { method: "POST", headers: { "content-type": "application/json", "idempotency-key": "e2e-node-1" }, body: JSON.stringify({ name: "pve1", address: "127.0.0.1:7000" }) });
  const first = await send();
  const again = await send();
  t.is(first.status, 201);
  t.is(await again.text(), await first.text());
  t.regex(api.output(), /"msg":"migration applied"/);
  api.child.kill("SIGTERM");
  t.is(await api.exited, 0);
});

test("lockstep-api refuses to start without a database URL and says which setting", async (t) => {
  const env = { ...process.env };
  delete env.LOCKSTEP_DATABASE_URL;
  delete env.LOCKSTEP_API_DATABASE_URL;
  const api = run(env as Record<string, string>);
  t.is(await api.exited, 2);
  t.regex(api.output(), /^lockstep-api: configuration: databaseUrl is required \(set LOCKSTEP_DATABASE_URL\)/);
});

test("a malformed database URL is named without echoing it", async (t) => {
  const api = run({ LOCKSTEP_DATABASE_URL: "postgres://user:s3cret@db/x" });
  t.is(await api.exited, 2);
  t.regex(api.output(), /databaseUrl \(from LOCKSTEP_API_DATABASE_URL\) must be a mysql:\/\/ URL/);
  t.notRegex(api.output(), /s3cret/);
});
