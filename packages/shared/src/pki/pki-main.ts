import { parseArgs } from "node:util";
import { LockstepError } from "../errors/lockstep-error.js";
import { createClusterCa } from "./cluster-ca.js";
import { issueClientCertificate, issueNodeCertificate } from "./issue-certificate.js";
import type { KeyPairFiles } from "./pki-layout.js";

const USAGE = `usage: lockstep-pki init   --dir D [--days N] [--name "CA name"]
       lockstep-pki node   <node> --dir D [--san DNS:x|IP:y]... [--days N] [--force]
       lockstep-pki client <name> --dir D [--days N] [--force]

Makes the certificates of a Lockstep cluster (mutual TLS between the API and the agents):
  init     the cluster CA: D/ca.crt and D/ca.key (3650 days; refuses if they exist)
  node     an agent's server certificate: D/nodes/<node>.crt and .key (SAN DNS:<node>
           plus each --san; 825 days)
  client   a client certificate for the API or an operator: D/clients/<name>.crt and .key

--dir defaults to $LOCKSTEP_PKI_DIR. Existing certificates are only replaced with --force.
Prints the paths it wrote, one per line; never prints a key.`;

/** Options each command accepts, besides --dir and --help. */
const COMMAND_OPTIONS: Record<string, { args: number; options: readonly string[] }> = {
  init: { args: 0, options: ["days", "name"] },
  node: { args: 1, options: ["san", "days", "force"] },
  client: { args: 1, options: ["days", "force"] },
};

/** Bad input: exit 2. */
class UsageError extends Error {}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      days: { type: "string" },
      name: { type: "string" },
      san: { type: "string", multiple: true },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command, ...args] = positionals;
  const spec = command === undefined ? undefined : COMMAND_OPTIONS[command];
  if (!spec)
    throw new UsageError(
      command === undefined
        ? "a command is required: init, node or client (see --help)"
        : `unknown command ${JSON.stringify(command)} (see --help)`,
    );
  if (args.length !== spec.args)
    throw new UsageError(
      spec.args === 0
        ? `${command} takes no argument, got ${JSON.stringify(args.join(" "))}`
        : `${command} takes one name, got ${args.length}`,
    );
  const stray = Object.keys(values).find((option) => option !== "dir" && !spec.options.includes(option));
  if (stray) throw new UsageError(`--${stray} does not apply to ${command}`);
  const dir = values.dir ?? env.LOCKSTEP_PKI_DIR;
  if (!dir) throw new UsageError("--dir is required (or set LOCKSTEP_PKI_DIR)");
  const days = values.days === undefined ? undefined : parseDays(values.days);
  let written: KeyPairFiles;
  if (command === "init") written = await createClusterCa(dir, { days, name: values.name });
  else if (command === "node")
    written = await issueNodeCertificate(dir, args[0]!, { sans: values.san, days, force: values.force });
  else written = await issueClientCertificate(dir, args[0]!, { days, force: values.force });
  process.stdout.write(`${written.cert}\n${written.key}\n`);
  return 0;
}

function parseDays(text: string): number {
  if (!/^\d{1,6}$/.test(text))
    throw new UsageError(`--days must be a whole number of days, got ${JSON.stringify(text)}`);
  return Number(text);
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`lockstep-pki: ${message.split("\n")[0]}\n`);
    const badInput =
      err instanceof UsageError ||
      (err instanceof LockstepError && err.code === "INVALID_ARGUMENT") ||
      String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
    process.exitCode = badInput ? 2 : 1;
  },
);
