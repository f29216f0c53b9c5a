/** What one `pct` invocation produced. */
export interface PctResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** Set when output past the call's bound was dropped. */
  readonly stdoutTruncated?: boolean;
  readonly stderrTruncated?: boolean;
}

export interface PctRunOptions {
  /** Kill `pct` after this long; its outcome is then unknown. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly stdin?: Buffer;
  /** Stop reading stdout/stderr past this many bytes (the rest is dropped and marked). */
  readonly maxOutputBytes?: number;
}

/**
 * The one boundary through which the agent runs `pct`: an argv array, never a shell.
 * Resolves with the exit status whatever it is (parsing decides what a status means);
 * rejects with HypervisorUnresponsiveError when the call times out.
 */
export interface PctRunner {
  run(args: readonly string[], options?: PctRunOptions): Promise<PctResult>;
}
