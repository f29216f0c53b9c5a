import { readCalls } from "@lockstep/sim";

// `pct` commands that change a node; everything else `pct` does is a read.
const MUTATING = new Set([
  "create",
  "clone",
  "set",
  "start",
  "stop",
  "shutdown",
  "destroy",
  "push",
  "snapshot",
  "delsnapshot",
  "unlock",
  "rollback",
]);
// Commands inside a container that only look.
const LOOKS = [/^stat /, /^sha256sum /, /^cat /, /^systemctl is-(active|enabled) /];

/**
 * The side effects the simulator recorded for one container, in order and normalized so that
 * two containers given the same spec compare equal: the VMID, snapshot names and the agent's
 * staging paths are replaced. `reads` are exec argv that only look (guards, health checks).
 */
export function sideEffects(root: string, vmid: number, reads: readonly string[][] = []): string[] {
  const readSet = new Set(reads.map((argv) => argv.join(" ")));
  return readCalls(root)
    .filter((c): c is Extract<typeof c, { event: "start" }> => c.event === "start" && c.vmid === vmid)
    .filter(
      (c) => MUTATING.has(c.argv[0]!) || (c.argv[0] === "exec" && !isRead(guestCommand(c.argv).join(" "), readSet)),
    )
    .map((c) => normalize(c.argv, vmid));
}

/**
 * The command a `pct exec` ran inside the guest: after pct's `--`, and after the agent's
 * `env -i -- NAME=VALUE...` that gives it its explicit environment (exec/guest-environment.ts).
 */
function guestCommand(argv: readonly string[]): readonly string[] {
  let inner = argv.slice(argv.indexOf("--") + 1);
  if (inner[0] !== "env") return inner;
  inner = inner.slice(1).filter((arg, i) => !(i < 2 && (arg === "-i" || arg === "--")));
  while (inner.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(inner[0]!)) inner = inner.slice(1);
  return inner;
}

function isRead(inner: string, reads: ReadonlySet<string>): boolean {
  return reads.has(inner) || LOOKS.some((re) => re.test(`${inner} `));
}

function normalize(argv: readonly string[], vmid: number): string {
  const args = argv[0] === "push" ? [argv[0], argv[1], "<staged>", ...argv.slice(3)] : argv;
  return args
    .join(" ")
    .replaceAll(String(vmid), "<vmid>")
    .replace(/lockstep-[0-9a-f]{12}/g, "lockstep-<job>")
    .replace(/--description Lockstep: \S+/, "--description Lockstep: <job>")
    .replace(/hwaddr=[0-9A-F:]+/g, "hwaddr=<mac>")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>");
}
