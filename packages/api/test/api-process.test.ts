import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { logEntry } from "@lockstep/shared";
import { testPki } from "../../agent/test/integration/test-pki.js";
import { createTestDatabase } from "./support/test-database.js";

const BIN = fileURLToPath(new URL("../bin/lockstep-api.js", import.meta.url));

function run(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, exited, output: () => output };
}

/** The address the API logged once it listens, or "" after 10 s. */
async function listeningAddress(output: () => string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const address = logEntry(output(), "api listening")?.address as string | undefined;
    if (address) return address;
    await new Promise((r) => setTimeout(r, 50));
  }
  return "";
}

async function agentTlsEnv(): Promise<Record<string, string>> {
  const tls = await (await testPki()).client("lockstep-api");
  return {
    LOCKSTEP_API_AGENT_TLS_CA: tls.ca,
    LOCKSTEP_API_AGENT_TLS_CERT: tls.cert,
    LOCKSTEP_API_AGENT_TLS_KEY: tls.key,
  };
}

async function token(dbUrl: string, ...args: string[]): Promise<{ code: number | null; output: string }> {
  const cmd = run({ LOCKSTEP_DATABASE_URL: dbUrl }, ["token", ...args]);
  return { code: await cmd.exited, output: cmd.output() };
}

test("lockstep-api migrates, serves over real HTTP and stops cleanly on SIGTERM", async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const api = run({ LOCKSTEP_DATABASE_URL: db.url, ...(await agentTlsEnv()) }, ["--listen", "127.0.0.1:0"]);
  t.teardown(() => api.child.kill("SIGKILL"));
  const address = await listeningAddress(api.output);
  t.truthy(address, api.output());
  const bearer = /^lst_\S+$/m.exec((await token(db.url, "create", "--name", "e2e", "--scope", "admin")).output)![0];
  const send = () =>
    fetch(`http://${address}/v1/nodes`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${bearer}`,
        "content-type": "application/json",
        "idempotency-key": "e2e-node-1",
      },
      body: JSON.stringify({ name: "pve1", address: "127.0.0.1:7000" }),
    });
  const first = await send();
  const again = await send();
  t.is(first.status, 201);
  t.is(await again.text(), await first.text());
  t.truthy(logEntry(api.output(), "migration applied"));
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

test("lockstep-api refuses to start without its agent client certificate and names the setting", async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const api = run({ LOCKSTEP_DATABASE_URL: db.url, LOCKSTEP_API_AGENT_TLS_CA: "/etc/lockstep/tls/ca.crt" }, [
    "--listen",
    "127.0.0.1:0",
  ]);
  t.is(await api.exited, 2);
  t.regex(
    api.output(),
    /configuration: agentTlsCert is required with agentTransport mtls \(set LOCKSTEP_API_AGENT_TLS_CERT/,
  );
});

test("lockstep-api token create --policy gives a token its own policy, and token policy --global gives it the global one again", async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const dir = await mkdtemp(path.join(os.tmpdir(), "lockstep-policy-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, "trusted.json");
  await writeFile(file, JSON.stringify({ privileged: true, max_containers: 10 }));
  const created = await token(db.url, "create", "--name", "trusted", "--scope", "operator", "--policy", file);
  t.is(created.code, 0, created.output);
  const id = /^lst_([0-9a-f]{12})_/m.exec(created.output)![1]!;
  t.regex((await token(db.url, "list")).output, new RegExp(`^${id}  operator  active +own-policy +trusted`, "m"));
  t.is((await token(db.url, "policy", id, "--global")).code, 0);
  t.regex((await token(db.url, "list")).output, new RegExp(`^${id}  operator  active +global-policy +trusted`, "m"));
});

test("lockstep-api token refuses a policy file with an unknown key, naming the file and the key, and stores nothing", async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const dir = await mkdtemp(path.join(os.tmpdir(), "lockstep-policy-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, "typo.json");
  await writeFile(file, JSON.stringify({ privilegd: true }));
  const created = await token(db.url, "create", "--name", "typo", "--scope", "operator", "--policy", file);
  t.is(created.code, 2);
  t.true(created.output.includes(`--policy ${file}: /privilegd Unexpected property`), created.output);
  t.false(/^lst_/m.test(created.output));
});

test("lockstep-api token create prints the token once, list shows it without its secret, revoke ends it", async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const created = await token(db.url, "create", "--name", "panel", "--scope", "operator");
  t.is(created.code, 0);
  const bearer = /^lst_([0-9a-f]{12})_\S{43}$/m.exec(created.output)!;
  const listed = await token(db.url, "list");
  t.regex(listed.output, new RegExp(`^${bearer[1]}  operator  active +global-policy +panel`, "m"));
  t.false(listed.output.includes(bearer[0]));
  t.is((await token(db.url, "revoke", bearer[1]!)).code, 0);
  t.regex(
    (await token(db.url, "list")).output,
    new RegExp(`^${bearer[1]}  operator  revoked  global-policy  panel`, "m"),
  );
  t.is((await token(db.url, "revoke", bearer[1]!)).code, 1, "revoking twice says there was no active token");
});

test("lockstep-api token refuses a bad scope, name or ID before touching the database", async (t) => {
  const unreachable = "mysql://nobody:pw@127.0.0.1:1/none";
  for (const [args, message] of [
    [["create", "--name", "panel", "--scope", "root"], /--scope must be one of read, operator, admin/],
    [["create", "--name", "a b", "--scope", "read"], /--name is required/],
    [["revoke", "'; DROP TABLE api_tokens; --"], /revoke needs a token ID/],
    [["rotate"], /unknown token command 'rotate'/],
  ] as const) {
    const result = await token(unreachable, ...args);
    t.is(result.code, 2, args.join(" "));
    t.regex(result.output, message);
  }
});

test("a revoked token is refused by the running API at once", async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const bearer = /^lst_([0-9a-f]{12})_\S{43}$/m.exec(
    (await token(db.url, "create", "--name", "panel", "--scope", "read")).output,
  )!;
  const api = run({ LOCKSTEP_DATABASE_URL: db.url, ...(await agentTlsEnv()) }, ["--listen", "127.0.0.1:0"]);
  t.teardown(() => api.child.kill("SIGTERM"));
  const address = await listeningAddress(api.output);
  const get = () =>
    fetch(`http://${address}/v1/nodes`, { headers: { authorization: `Bearer ${bearer[0]}` } }).then((r) => r.status);
  t.is(await get(), 200);
  await token(db.url, "revoke", bearer[1]!);
  t.is(await get(), 401);
});
