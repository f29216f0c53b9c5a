import * as agentV1 from "../../gen/lockstep/agent/v1/agent.js";
import type { ResolvedSpec } from "../../spec/container-spec.js";
import type { PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

// Proxmox applies these to a running container only at its next start.
const RESTART_KEYS = new Set(["features"]);

/**
 * Brings the core configuration (hostname, resources, network, nesting) to the spec. The whole
 * desired set goes to the agent, which sends `pct set` only what differs: the request is the
 * same in every attempt of a job, whatever an earlier attempt already changed.
 */
export const configureStep: PipelineStep = {
  name: "configure",
  async run(ctx: PipelineContext): Promise<StepOutcome> {
    const current = (await ctx.agent.getContainer({ vmid: ctx.vmid })).container;
    ctx.wasRunning = current?.status === agentV1.ContainerStatus.RUNNING;
    const { set, remove } = desiredConfig(ctx.spec, current?.config ?? {});
    const result = await ctx.agent.updateConfig({
      requestId: ctx.requestId("configure"),
      vmid: ctx.vmid,
      ownershipTag: ctx.ownershipTag,
      set,
      delete: remove,
    });
    // Keys Proxmox keeps in `[pve:pending]` apply at the next start, whether this attempt or an
    // earlier one set them: the start step restarts a running container for them.
    for (const key of result.pendingKeys) ctx.restartKeys.add(key);
    if (result.changedKeys.length === 0)
      return alreadyDone(
        result.pendingKeys.length > 0
          ? `configuration matches the spec; ${result.pendingKeys.join(", ")} apply at the next start`
          : "configuration matches the spec",
      );
    for (const key of result.changedKeys) if (RESTART_KEYS.has(key)) ctx.restartKeys.add(key);
    return changed(`changed ${result.changedKeys.join(", ")}`);
  },
};

/** The config keys the spec declares, in Proxmox's own formats. */
export function desiredConfig(
  spec: ResolvedSpec,
  current: Readonly<Record<string, string>>,
): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {
    hostname: spec.hostname,
    cores: String(spec.resources.cores),
    memory: String(spec.resources.memory_mb),
    swap: String(spec.resources.swap_mb),
    net0: net0(spec, current.net0),
  };
  const remove: string[] = [];
  const features = [spec.security.nesting && "nesting=1", spec.security.keyctl && "keyctl=1"].filter(Boolean).join(",");
  if (features) set.features = sameProperties(current.features, features) ? current.features! : features;
  else remove.push("features");
  if (spec.onboot) set.onboot = "1";
  else remove.push("onboot");
  return { set, remove };
}

/** `net0` as declared, keeping the MAC address Proxmox generated (a new one would break DHCP leases). */
function net0(spec: ResolvedSpec, current: string | undefined): string {
  const { bridge, ip, gateway, vlan, firewall } = spec.network;
  const was = properties(current);
  const wanted: [string, string | undefined][] = [
    ["name", "eth0"],
    ["bridge", bridge],
    ["firewall", firewall ? "1" : undefined],
    ["gw", gateway],
    ["hwaddr", was.get("hwaddr")],
    ["ip", ip],
    ["tag", vlan === undefined ? undefined : String(vlan)],
    ["type", "veth"],
  ];
  const value = wanted
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return current !== undefined && sameProperties(current, value) ? current : value;
}

function properties(value: string | undefined): Map<string, string> {
  return new Map(
    (value ?? "")
      .split(",")
      .filter(Boolean)
      .map((pair) => pair.split("=", 2) as [string, string]),
  );
}

/** Property strings are equal when they hold the same pairs, in whatever order. */
function sameProperties(a: string | undefined, b: string): boolean {
  const left = properties(a);
  const right = properties(b);
  if (!right.has("type")) right.set("type", left.get("type") ?? "veth");
  if (!left.has("type")) left.set("type", "veth");
  return left.size === right.size && [...left].every(([k, v]) => right.get(k) === v);
}
