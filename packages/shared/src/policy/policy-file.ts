import { readJsonFile } from "../config/json-file.js";
import { parsePolicy, type Policy } from "./policy.js";

/**
 * A policy file (JSON), read once at start-up or by the token command; every failure is a
 * ConfigError naming the setting it came from (`key`) and the file.
 */
export function readPolicyFile(file: string, key: string): Policy {
  return parsePolicy(readJsonFile(file, key), `${key} ${file}`);
}
