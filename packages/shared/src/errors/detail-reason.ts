/**
 * Values of an error's `reason` metadata that the API acts on, beside its reason code: the
 * agent sets them where it decides, the API matches them, and neither reads the other's words.
 */
export const DETAIL_REASON = {
  /** FAILED_PRECONDITION: the container is stopped (a step that needs it running cannot run). */
  notRunning: "not-running",
} as const;
