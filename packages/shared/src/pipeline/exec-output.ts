import type * as agentV1 from "../gen/lockstep/agent/v1/agent.js";

const TAIL = 2048;

/** The end of a command's output, as text, for an error a person reads. */
export function outputTail(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString("utf8");
  return text.length > TAIL ? `...${text.slice(-TAIL)}` : text;
}

/** `exit 1, stdout: ..., stderr: ...`, leaving out what is empty. */
export function describeRun(label: string, run: agentV1.ExecResponse): string {
  const parts = [`exit ${run.exitCode}`];
  const stdout = outputTail(run.stdout).trim();
  const stderr = outputTail(run.stderr).trim();
  if (stdout) parts.push(`stdout: ${stdout}`);
  if (stderr) parts.push(`stderr: ${stderr}`);
  return `${label} (${parts.join("; ")})`;
}
