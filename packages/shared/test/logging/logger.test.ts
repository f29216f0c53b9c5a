import { PassThrough } from "node:stream";
import test from "ava";
import { createMemoryLogger, createStreamLogger, resolveLogFormat, silentLogger } from "../../src/logging/logger.js";
import { logEntries, logEntry } from "../../src/logging/log-entries.js";

const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";

/** What a stream logger wrote, once it has written. */
function captured(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

test("a field whose name says secret is redacted at any depth, in objects and arrays", (t) => {
  const logger = createMemoryLogger();
  logger.info("connecting", {
    password: "hunter2",
    nested: { apiKey: "k", list: [{ authorization: "Bearer x" }] },
    privateKey: "p",
    node: "pve1",
  });
  t.like(logger.entries[0], {
    password: "[redacted]",
    nested: { apiKey: "[redacted]", list: [{ authorization: "[redacted]" }] },
    privateKey: "[redacted]",
    node: "pve1",
  });
});

test("secrets inside text are scrubbed: a URL's password, an API token's secret half, a PEM private key", (t) => {
  const logger = createMemoryLogger();
  logger.error("failed", {
    url: "mysql://lockstep:s3cret@db:3306/lockstep",
    note: `token lst_0123456789ab_AbCdEfGhIjKlMnOp given; key ${PEM}`,
  });
  const entry = logger.entries[0]!;
  t.is(entry.url, "mysql://lockstep:[redacted]@db:3306/lockstep");
  t.is(entry.note, "token lst_0123456789ab_[redacted] given; key [redacted private key]");
});

test("the message itself is scrubbed too", (t) => {
  const logger = createMemoryLogger();
  logger.warn("cannot reach mysql://root:topsecret@10.0.0.5/lockstep");
  t.is(logger.entries[0]!.msg, "cannot reach mysql://root:[redacted]@10.0.0.5/lockstep");
});

test("an error is logged as its name and scrubbed message, never its stack or its own fields", (t) => {
  const logger = createMemoryLogger();
  const err = Object.assign(new Error("connect to mysql://a:b@c/d failed"), { config: { password: "x" } });
  logger.error("db down", { err });
  t.deepEqual(logger.entries[0]!.err, { name: "Error", message: "connect to mysql://a:[redacted]@c/d failed" });
});

test("a child's fields and a call's fields are written once each, the call's winning, with no name twice in a line", (t) => {
  const out = captured();
  const logger = createStreamLogger(out.stream, {
    format: "json",
    bound: { service: "lockstep-agent", node: "pve1" },
  }).child({ component: "dedup" });
  logger.info("opened", { node: "pve2", records: 3 });
  const line = out.text().trim();
  t.is(line.match(/"node":/g)?.length, 1);
  t.like(JSON.parse(line), {
    service: "lockstep-agent",
    component: "dedup",
    node: "pve2",
    records: 3,
    level: "info",
    msg: "opened",
  });
});

test("entries below the level are not written", (t) => {
  const logger = createMemoryLogger("warn");
  logger.debug("no");
  logger.info("no");
  logger.warn("yes");
  logger.error("yes");
  t.deepEqual(
    logger.entries.map((e) => [e.level, e.msg]),
    [
      ["warn", "yes"],
      ["error", "yes"],
    ],
  );
});

test("a JSON entry carries an ISO time and its level by name", (t) => {
  const logger = createMemoryLogger();
  logger.info("hello");
  t.regex(logger.entries[0]!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.is(logger.entries[0]!.level, "info");
});

test("the pretty format writes readable lines, not JSON, and still scrubs secrets", (t) => {
  const out = captured();
  createStreamLogger(out.stream, { format: "pretty", bound: { service: "lockstep-api" } }).warn("agent unreachable", {
    node: "pve1",
    url: "https://u:pw@pve1:7000",
  });
  const text = out.text();
  t.regex(text, /WARN.*agent unreachable/);
  t.regex(text, /node: "pve1"/);
  t.false(text.trimStart().startsWith("{"));
  t.false(text.includes(":pw@"));
});

test("auto is pretty on a terminal and JSON lines on anything else", (t) => {
  t.is(resolveLogFormat("auto", { isTTY: true }), "pretty");
  t.is(resolveLogFormat("auto", {}), "json");
  t.is(resolveLogFormat("json", { isTTY: true }), "json");
});

test("the silent logger writes nothing and children of it neither", (t) => {
  t.notThrows(() => silentLogger().child({ a: 1 }).error("nothing"));
});

test("log entries are read back by message from JSON lines mixed with other output", (t) => {
  const out = captured();
  const logger = createStreamLogger(out.stream, { format: "json" });
  logger.info("api listening", { address: "127.0.0.1:8080" });
  const text = `a stack trace line\n${out.text()}{"not":"an entry"}\n{broken`;
  t.is(logEntries(text).length, 1);
  t.is(logEntry(text, "api listening")?.address, "127.0.0.1:8080");
});
