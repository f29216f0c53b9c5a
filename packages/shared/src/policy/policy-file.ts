import { readFileSync } from "node:fs";
import { ConfigError } from "../config/config-schema.js";
import { parsePolicy, type Policy } from "./policy.js";

/**
 * A policy file (JSON), read once at start-up or by the token command; every failure is a
 * ConfigError naming the setting it came from (`key`) and the file.
 */
export function readPolicyFile(file: string, key: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${key}: ${file} is not JSON: ${(err as Error).message}`);
  }
  return parsePolicy(raw, `${key} ${file}`);
}
