import { readFileSync } from "node:fs";
import { ConfigError } from "./config-schema.js";

/**
 * A JSON file read once at start-up (or by a command): every failure is a ConfigError naming
 * what the file is for (`subject`: a setting, a flag) and the file.
 */
export function readJsonFile(file: string, subject: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`${subject}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${subject}: ${file} is not JSON: ${(err as Error).message}`);
  }
}
