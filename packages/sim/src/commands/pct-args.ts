import { PctError, parameterError } from "../node/pct-error.js";

/** Positional arguments and `--option value` pairs, parsed as Proxmox's CLI handler does. */
export interface PctArgs {
  readonly positionals: string[];
  readonly options: Record<string, string>;
}

/**
 * Parses `args` given the subcommand's positional names and options. Boolean options take an
 * optional `0`/`1`. Errors use Proxmox's texts.
 */
export function parsePctArgs(
  args: string[],
  positionals: string[],
  options: { values?: string[]; booleans?: string[] },
): PctArgs {
  const found: string[] = [];
  const opts: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      found.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (options.booleans?.includes(name)) {
      const next = args[i + 1];
      opts[name] = next === "0" || next === "1" ? (i++, next) : "1";
    } else if (options.values?.includes(name)) {
      const next = args[++i];
      if (next === undefined) throw new PctError(`400 not enough arguments`);
      opts[name] = next;
    } else {
      throw new PctError(`Unknown option: ${name}\n400 unable to parse option`);
    }
  }
  if (found.length < positionals.length) throw new PctError("400 not enough arguments");
  if (found.length > positionals.length) throw new PctError("400 too many arguments");
  return { positionals: found, options: opts };
}

/** Proxmox's VMID rule: 100..999999999. */
export function parseVmid(value: string, field = "vmid"): number {
  if (!/^[1-9][0-9]{2,8}$/.test(value))
    throw parameterError(field, "invalid format - value does not look like a valid VM ID");
  return Number(value);
}

const DNS_NAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;

/** Proxmox's `dns-name` format, as `--hostname` of create and clone checks it. */
export function checkDnsName(field: string, value: string): string {
  if (!DNS_NAME.test(value)) throw parameterError(field, "invalid format - value does not look like a valid DNS name");
  return value;
}
