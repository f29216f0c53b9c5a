import { parseArgs } from "node:util";
import { AgentClient, LockstepError } from "@lockstep/shared";
import { applySpec } from "./apply-command.js";
import { compareContainer } from "./compare-command.js";
import { COMMANDS, UsageError, watchEvents } from "./commands.js";

const USAGE = `usage: lockstep-node [--target host:port] [--json] <command>

commands:
  health                              node health and whether pct answers
  lock inspect <vmid>                 who holds the config lock, and the verdict
  lock clear <vmid> [--remove-file]   clear a stale lock (never a held one)
  ct list                             containers on the node
  ct show <vmid>                      one container's config and snapshots
  snapshot list <vmid>
  snapshot prune <vmid> --keep-last N [--prefix lockstep]
  exec <vmid> [--timeout ms] -- <cmd...>
  events [--vmid N]...                stream lock events until Ctrl-C
  op <request-id>                     the agent's record of one request
  ct compare <vmid> --api URL --node NAME
                                      the API's record beside the node's truth, and the verdict
  apply <vmid> --spec file.json --owner TAG [--keep-last N] [--state-dir DIR]
                                      converge a container to a spec, step by step;
                                      each run's steps are kept in DIR (default
                                      ~/.local/state/lockstep-node/apply) to resume it

The target defaults to $LOCKSTEP_NODE_TARGET or 127.0.0.1:7000. Mutating commands take
--request-id to retry a request safely (one is generated otherwise).`;

async function main(argv: string[]): Promise<number> {
  const dashDash = argv.indexOf("--");
  const { values, positionals } = parseArgs({
    args: dashDash >= 0 ? argv.slice(0, dashDash) : argv,
    allowPositionals: true,
    options: {
      target: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
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
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const client = new AgentClient(values.target ?? process.env.LOCKSTEP_NODE_TARGET ?? "127.0.0.1:7000");
  try {
    if (positionals[0] === "events") {
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      await watchEvents(client, (values.vmid ?? []).map(Number), values.json ?? false, abort.signal);
      return 0;
    }
    if (positionals[0] === "apply") {
      const options = { specFile: values.spec, owner: values.owner, keepLast: values["keep-last"], requestId: values["request-id"], json: values.json ?? false, stateDir: values["state-dir"] };
      return await applySpec(client, positionals[1], options, (line) => process.stdout.write(`${line}\n`));
    }
    if (positionals[0] === "ct" && positionals[1] === "compare") {
      const out = await compareContainer(client, positionals[2], values.api, values.node);
      process.stdout.write(values.json ? `${JSON.stringify(out.json, null, 2)}\n` : `${out.text}\n`);
      return out.exitCode ?? 0;
    }
    const [name, rest] = resolveCommand(positionals);
    const args = dashDash >= 0 ? [...rest, ...argv.slice(dashDash + 1)] : rest;
    const out = await COMMANDS[name]!({
      client,
      args,
      options: { keepLast: values["keep-last"], prefix: values.prefix, removeFile: values["remove-file"], requestId: values["request-id"], timeout: values.timeout },
    });
    process.stdout.write(values.json ? `${JSON.stringify(out.json, null, 2)}\n` : `${out.text.replace(/\n$/, "")}\n`);
    return out.exitCode ?? 0;
  } finally {
    client.close();
  }
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
    const message = err instanceof LockstepError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`lockstep-node: ${message.split("\n")[0]}\n`);
    const badArgs = err instanceof UsageError || String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
    process.exitCode = badArgs ? 2 : 1;
  },
);
