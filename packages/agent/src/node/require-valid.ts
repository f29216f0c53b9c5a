import { vmidProblem } from "@lockstep/shared";
import { InvalidArgumentError } from "../errors.js";

/** Throws INVALID_ARGUMENT naming `field` when `problem` finds one. */
export function requireValid<T>(field: string, value: T, problem: (value: unknown) => string | null): T {
  const reason = problem(value);
  if (reason) throw new InvalidArgumentError(field, reason);
  return value;
}

/** VMIDs follow Proxmox's rule: 100..999999999. */
export function requireVmid(value: number): number {
  return requireValid("vmid", value, vmidProblem);
}

/** A bounded string of safe characters; `pattern` describes what the field may hold. */
export function requirePattern(field: string, value: string, pattern: RegExp, description: string): string {
  if (!pattern.test(value)) throw new InvalidArgumentError(field, `must be ${description}`);
  return value;
}
