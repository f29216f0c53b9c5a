/** A failure `pct` reports: its message on stderr and its exit status (255 unless said). */
export class PctError extends Error {
  constructor(
    message: string,
    readonly exitCode = 255,
  ) {
    super(message);
  }
}

/** Proxmox's parameter errors: `400 Parameter verification failed.` and one line per field. */
export function parameterError(field: string, message: string): PctError {
  return new PctError(`400 Parameter verification failed.\n${field}: ${message}`);
}
