import { parseArgs } from "node:util";
import { ConfigError, createStreamLogger, readPolicyFile, resolveLogFormat, systemClock } from "@lockstep/shared";
import { migrate } from "../db/migrate.js";
import { migrations } from "../db/migrations/index.js";
import { openDatabase } from "../db/database.js";
import { SCOPES, type Scope } from "./api-token.js";
import { TokenStore } from "./token-store.js";

const TOKEN_USAGE = `usage: lockstep-api token create --name NAME --scope read|operator|admin [--policy FILE]
       lockstep-api token list
       lockstep-api token revoke ID
       lockstep-api token policy ID (--policy FILE | --global)

Manages API tokens in the database named by LOCKSTEP_DATABASE_URL. create prints the token
once, on stdout; only a hash of it is stored. Scopes: read (GET), operator (also create,
apply, delete, reconcile), admin (also register nodes). A token's policy (a JSON file, see
docs/policy.md) replaces the API's global one (policyFile) for what it may create or apply;
\`policy ID --global\` gives it the global one again.`;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const ID = /^[0-9a-f]{12}$/;

/** `lockstep-api token ...`; returns the exit code. */
export async function tokenCommand(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      scope: { type: "string" },
      policy: { type: "string" },
      global: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [verb, ...rest] = positionals;
  if (values.help || !verb) {
    out.write(`${TOKEN_USAGE}\n`);
    return values.help ? 0 : 2;
  }
  let run: TokenRun;
  try {
    run = planTokenCommand(verb, rest, values);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`lockstep-api token: ${err.message}\n`);
    return 2;
  }
  const url = env.LOCKSTEP_API_DATABASE_URL ?? env.LOCKSTEP_DATABASE_URL;
  if (!url) throw new ConfigError("databaseUrl is required (set LOCKSTEP_DATABASE_URL)");
  const pool = openDatabase(url, { connectionLimit: 2 });
  try {
    await migrate(
      pool,
      migrations,
      createStreamLogger(process.stderr, {
        level: "warn",
        format: resolveLogFormat("auto", process.stderr),
        bound: { service: "lockstep-api" },
      }),
    );
    return await run(new TokenStore(pool, systemClock), out);
  } finally {
    await pool.end();
  }
}

type TokenRun = (store: TokenStore, out: NodeJS.WritableStream) => Promise<number>;

/** Checks the arguments before the database is touched. */
function planTokenCommand(
  verb: string,
  rest: string[],
  values: { name?: string; scope?: string; policy?: string; global?: boolean },
): TokenRun {
  if (verb === "create") {
    if (!values.name || !NAME.test(values.name))
      throw new ConfigError("--name is required: 1 to 64 letters, digits, '.', '_', '@' or '-'");
    if (!SCOPES.includes(values.scope as Scope)) throw new ConfigError(`--scope must be one of ${SCOPES.join(", ")}`);
    const [name, scope] = [values.name, values.scope as Scope];
    const policy = values.policy === undefined ? null : readPolicyFile(values.policy, "--policy");
    return async (store, out) => {
      const { record, token } = await store.create(name, scope, policy);
      process.stderr.write(
        `created token ${record.tokenId} '${name}' with scope ${scope} and ${policy ? `the policy of ${values.policy}` : "the global policy"}; it is shown once:\n`,
      );
      out.write(`${token}\n`);
      return 0;
    };
  }
  if (verb === "list") {
    return async (store, out) => {
      for (const t of await store.list())
        out.write(
          `${t.tokenId}  ${t.scope.padEnd(8)}  ${(t.revokedAt ? "revoked" : "active").padEnd(7)}  ${(t.policy ? "own-policy" : "global-policy").padEnd(13)}  ${t.name}  created ${t.createdAt}  last used ${t.lastUsedAt ?? "never"}\n`,
        );
      return 0;
    };
  }
  if (verb === "revoke") {
    const id = rest[0];
    if (!id || !ID.test(id)) throw new ConfigError("revoke needs a token ID: 12 hex digits, as `token list` shows");
    return async (store, out) => {
      const revoked = await store.revoke(id);
      out.write(revoked ? `revoked ${id}\n` : `no active token ${id}\n`);
      return revoked ? 0 : 1;
    };
  }
  if (verb === "policy") return planPolicy(rest[0], values);
  throw new ConfigError(`unknown token command '${verb}' (create, list, revoke, policy)`);
}

/** `token policy ID --policy FILE | --global`: checked, file read and parsed, before the database is touched. */
function planPolicy(id: string | undefined, values: { policy?: string; global?: boolean }): TokenRun {
  if (!id || !ID.test(id)) throw new ConfigError("policy needs a token ID: 12 hex digits, as `token list` shows");
  if ((values.policy === undefined) === (values.global !== true))
    throw new ConfigError("policy needs exactly one of --policy FILE or --global");
  const policy = values.policy === undefined ? null : readPolicyFile(values.policy, "--policy");
  return async (store, out) => {
    const found = await store.setPolicy(id, policy);
    out.write(
      found
        ? `token ${id} now has ${policy ? `the policy of ${values.policy}` : "the global policy"}\n`
        : `no token ${id}\n`,
    );
    return found ? 0 : 1;
  };
}
