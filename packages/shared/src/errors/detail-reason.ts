/**
 * Values of an error's `reason` metadata that the API acts on, beside its reason code: the
 * agent sets them where it decides, the API matches them, and neither reads the other's words.
 */
export const DETAIL_REASON = {
  /**
   * The container was found stopped: FAILED_PRECONDITION from a step that needs it running, or
   * VERIFICATION_FAILED from a pipeline that expected it running (HA may have stopped it).
   */
  notRunning: "not-running",
} as const;
