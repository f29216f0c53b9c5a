import { parseArgs } from "node:util";
import { ConfigError, LockstepError, lockstepVersion } from "@lockstep/shared";
import { agentEndpoint, connectToAgent, type ConnectionFlags } from "./agent-connection.js";
import { applySpec } from "./apply-command.js";
import { callMethod } from "./call-command.js";
import { compareContainer } from "./compare-command.js";
import { COMMANDS, UsageError, watchEvents } from "./commands.js";
import { describeApi } from "./describe-command.js";
import { reflectAgent } from "./reflection-client.js";

const USAGE = `usage: lockstep-node [--target host:port] [--ca F --cert F --key F] [--server-name N]
                     [--json] <command>
       lockstep-node --version

commands:
  health                              node health and whether pct answers
  lock inspect <vmid>                 who holds the config lock, and the verdict
  lock clear <vmid> [--remove-file]   clear a stale lock (never a held one)
  ct list                             containers on the node
  ct show <vmid>                      one container's config and snapshots
  snapshot list <vmid>
  snapshot prune <vmid> --owner TAG --keep-last N [--prefix lockstep]
  exec <vmid> --owner TAG [--timeout ms] -- <cmd...>
  events [--vmid N]...                stream lock events until Ctrl-C
  op <request-id>                     the agent's record of one request
  ct compare <vmid> --api URL --node NAME
                                      the API's record beside the node's truth, and the verdict
  apply <vmid> --spec file.json --owner TAG [--keep-last N] [--state-dir DIR]
                                      converge a container to a spec, step by step;
                                      each run's steps are kept in DIR (default
                                      ~/.local/state/lockstep-node/apply) to resume it
  describe [<method>]                 the agent's services and methods, from its gRPC
                                      reflection; with a method, its request and response fields
  call <method> ['<json>']            call a unary or server-streaming method with a proto3
                                      JSON body (default {}); a stream prints a JSON line per
                                      message until it ends, Ctrl-C or --timeout ms (a unary
                                      call's deadline, 60 s by default). <method> is Method,
                                      Service/Method or package.Service/Method

The target defaults to $LOCKSTEP_NODE_TARGET or 127.0.0.1:7000. The agent speaks mutual TLS:
--ca, --cert and --key (or LOCKSTEP_NODE_CA, _CERT, _KEY) name the cluster CA and a client
certificate from lockstep-pki; the agent's certificate must name the target's host, or
--server-name (LOCKSTEP_NODE_SERVER_NAME). --plaintext reaches a loopback agent running with
transport plaintext-loopback. ct compare reads the API token from LOCKSTEP_API_TOKEN (never a
flag: flags show in ps). Mutating commands take --request-id to retry a request safely (one
is generated otherwise) and --owner, the container's ownership tag: the agent refuses
(FOREIGN_CONTAINER) a container that does not carry it. lock clear takes no owner and clears
only a stale lock.`;

async function main(argv: string[]): Promise<number> {
  const dashDash = argv.indexOf("--");
  const { values, positionals } = parseArgs({
    args: dashDash >= 0 ? argv.slice(0, dashDash) : argv,
    allowPositionals: true,
    options: {
      target: { type: "string" },
      ca: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "server-name": { type: "string" },
      plaintext: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
      "keep-last": { type: "string" },
      prefix: { type: "string" },
      "remove-file": { type: "boolean" },
      "request-id": { type: "string" },
      timeout: { type: "string" },
      vmid: { type: "string", multiple: true },
      spec: { type: "string" },
      owner: { type: "string" },
      "state-dir": { type: "string" },
      api: { type: "string" },
      node: { type: "string" },
    },
  });
  if (values.version) {
    process.stdout.write(`${lockstepVersion()}\n`);
    return 0;
  }
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (positionals[0] === "describe" || positionals[0] === "call") return reflective(positionals, values);
  const client = connectToAgent(values, process.env);
  try {
    if (positionals[0] === "events") {
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      await watchEvents(client, (values.vmid ?? []).map(Number), values.json ?? false, abort.signal);
      return 0;
    }
    if (positionals[0] === "apply") {
      const options = {
        specFile: values.spec,
        owner: values.owner,
        keepLast: values["keep-last"],
        requestId: values["request-id"],
        json: values.json ?? false,
        stateDir: values["state-dir"],
      };
      return await applySpec(client, positionals[1], options, (line) => process.stdout.write(`${line}\n`));
    }
    if (positionals[0] === "ct" && positionals[1] === "compare") {
      const out = await compareContainer(
        client,
        positionals[2],
        values.api,
        values.node,
        process.env.LOCKSTEP_API_TOKEN,
      );
      process.stdout.write(values.json ? `${JSON.stringify(out.json, null, 2)}\n` : `${out.text}\n`);
      return out.exitCode ?? 0;
    }
    const [name, rest] = resolveCommand(positionals);
    const args = dashDash >= 0 ? [...rest, ...argv.slice(dashDash + 1)] : rest;
    const out = await COMMANDS[name]!({
      client,
      args,
      options: {
        keepLast: values["keep-last"],
        owner: values.owner,
        prefix: values.prefix,
        removeFile: values["remove-file"],
        requestId: values["request-id"],
        timeout: values.timeout,
      },
    });
    process.stdout.write(values.json ? `${JSON.stringify(out.json, null, 2)}\n` : `${out.text.replace(/\n$/, "")}\n`);
    return out.exitCode ?? 0;
  } finally {
    client.close();
  }
}

/** `describe` and `call`: what they know of the agent comes from its reflection alone. */
async function reflective(
  positionals: string[],
  values: ConnectionFlags & { json?: boolean; timeout?: string },
): Promise<number> {
  if (positionals[0] === "describe" && positionals.length > 2)
    throw new UsageError("describe takes at most one method");
  if (positionals.length > 3)
    throw new UsageError(`call takes a method and one JSON body; quote the body as one argument: '{"vmid": 101}'`);
  const endpoint = agentEndpoint(values, process.env);
  const api = await reflectAgent(endpoint, REFLECTION_TIMEOUT_MS);
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  if (positionals[0] === "describe") {
    const out = describeApi(api, positionals[1]);
    print(values.json ? JSON.stringify(out.json, null, 2) : out.text);
    return 0;
  }
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  await callMethod(endpoint, api, {
    method: positionals[1],
    body: positionals[2],
    timeoutMs: timeoutOption(values.timeout),
    signal: abort.signal,
    print,
  });
  return 0;
}

const REFLECTION_TIMEOUT_MS = 15_000;

function timeoutOption(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--timeout takes milliseconds, got ${JSON.stringify(value)}`);
  return Number(value);
}

function resolveCommand(positionals: string[]): [string, string[]] {
  const two = positionals.slice(0, 2).join(" ");
  if (COMMANDS[two]) return [two, positionals.slice(2)];
  if (COMMANDS[positionals[0]!]) return [positionals[0]!, positionals.slice(1)];
  throw new UsageError(`unknown command '${positionals.join(" ")}' (see lockstep-node --help)`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message =
      err instanceof LockstepError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`lockstep-node: ${message.split("\n")[0]}\n`);
    const badArgs =
      err instanceof UsageError ||
      err instanceof ConfigError ||
      String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
    process.exitCode = badArgs ? 2 : 1;
  },
);
