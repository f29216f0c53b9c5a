import { PctError } from "../node/pct-error.js";

/** How a simulated node's chronyd answers: LOCKSTEP_SIM_CLOCK. */
export type SimClock = "synchronised" | "unsynchronised" | "no-daemon";

/** What chronyd's REQ_TRACKING answers (candm.h RPY_Tracking). */
interface Tracking {
  readonly refId: number;
  /** The reference's address, or null when it has none (IPADDR_UNSPEC). */
  readonly ip: string | null;
  readonly stratum: number;
  readonly refTimeS: number;
  readonly correction: number;
  readonly lastOffset: number;
  readonly rmsOffset: number;
  readonly freqPpm: number;
  readonly residFreqPpm: number;
  readonly skewPpm: number;
  readonly rootDelay: number;
  readonly rootDispersion: number;
  readonly updateInterval: number;
  readonly leap: "Normal" | "Not synchronised";
}

/**
 * The simulated `chronyc` of a PVE node (PVE 8 and 9 install chrony): only `tracking`, with
 * `-n` and `-c`. A simulated node has no clock of its own, it reads this machine's: its chronyd
 * is modelled as synchronised to this machine (127.0.0.1, offset 0). LOCKSTEP_SIM_CLOCK=
 * `unsynchronised` answers as chronyd does before its first update, `no-daemon` as chronyc
 * does when no chronyd answers (client.c request_reply: `506 Cannot talk to daemon`, exit 1).
 */
export function chronyc(argv: readonly string[], clock: SimClock, nowMs: number): { stdout: string; exitCode: number } {
  const options = new Set(argv.filter((arg) => arg.startsWith("-")));
  const commands = argv.filter((arg) => !arg.startsWith("-"));
  const unknown = [...options].find((o) => o !== "-n" && o !== "-c");
  if (unknown || commands.length !== 1 || commands[0] !== "tracking")
    throw new PctError(`simulator: chronyc ${argv.join(" ")} is not modelled (only chronyc [-n] [-c] tracking)`, 2);
  if (clock === "no-daemon") return { stdout: "506 Cannot talk to daemon\n", exitCode: 1 };
  const report = clock === "synchronised" ? synchronised(nowMs) : UNSYNCHRONISED;
  return { stdout: options.has("-c") ? csv(report) : human(report, options.has("-n")), exitCode: 0 };
}

/** LOCKSTEP_SIM_CLOCK, checked. */
export function simClock(env: NodeJS.ProcessEnv): SimClock {
  const value = env.LOCKSTEP_SIM_CLOCK || "synchronised";
  if (value !== "synchronised" && value !== "unsynchronised" && value !== "no-daemon")
    throw new PctError("LOCKSTEP_SIM_CLOCK must be synchronised, unsynchronised or no-daemon", 2);
  return value;
}

// A chronyd whose one source, this machine (127.0.0.1, refid 7F000001, stratum 2), last
// updated it 10 s ago and left it exactly on time.
function synchronised(nowMs: number): Tracking {
  return {
    refId: 0x7f000001,
    ip: "127.0.0.1",
    stratum: 3,
    refTimeS: Math.floor(nowMs / 1000) - 10,
    correction: 0,
    lastOffset: 0,
    rmsOffset: 0,
    freqPpm: 0,
    residFreqPpm: 0,
    skewPpm: 0,
    rootDelay: 0,
    rootDispersion: 0,
    updateInterval: 64,
    leap: "Normal",
  };
}

// reference.c REF_GetReferenceParams when not synchronised and no local stratum: leap
// LEAP_Unsynchronised, NTP_MAX_STRATUM (reported 0 by REF_GetTrackingReport), refid
// NTP_REFID_UNSYNC (0), a zero reference time, root delay and dispersion 1.0.
const UNSYNCHRONISED: Tracking = {
  refId: 0,
  ip: null,
  stratum: 0,
  refTimeS: 0,
  correction: 0,
  lastOffset: 0,
  rmsOffset: 0,
  freqPpm: 0,
  residFreqPpm: 0,
  skewPpm: 0,
  rootDelay: 1,
  rootDispersion: 1,
  updateInterval: 0,
  leap: "Not synchronised",
};

/**
 * client.c process_cmd_tracking through print_report, as a human reads it. The name after the
 * reference ID is the address (`-n`) or its name (127.0.0.1 is `localhost`), and for a
 * reference without address the refid's printable characters (none for 0).
 */
function human(t: Tracking, noDns: boolean): string {
  const name = t.ip === null ? "" : noDns ? t.ip : "localhost";
  const f = (n: number, digits: number): string => n.toFixed(digits);
  const signed = (n: number, digits: number): string => `${n >= 0 ? "+" : ""}${n.toFixed(digits)}`;
  // %O and %F: the absolute value, then `slow` or `fast` (print_report: (dbl > 0.0) ^ (spec != 'O')).
  const offset = `${f(Math.abs(t.correction), 9)} seconds ${t.correction > 0 ? "slow" : "fast"}`;
  const freq = `${f(Math.abs(t.freqPpm), 3)} ppm ${t.freqPpm > 0 ? "fast" : "slow"}`;
  return (
    [
      `Reference ID    : ${refId(t)} (${name})`,
      `Stratum         : ${t.stratum}`,
      `Ref time (UTC)  : ${utcDate(t.refTimeS)}`,
      `System time     : ${offset} of NTP time`,
      `Last offset     : ${signed(t.lastOffset, 9)} seconds`,
      `RMS offset      : ${f(t.rmsOffset, 9)} seconds`,
      `Frequency       : ${freq}`,
      `Residual freq   : ${signed(t.residFreqPpm, 3)} ppm`,
      `Skew            : ${f(t.skewPpm, 3)} ppm`,
      `Root delay      : ${f(t.rootDelay, 9)} seconds`,
      `Root dispersion : ${f(t.rootDispersion, 9)} seconds`,
      `Update interval : ${f(t.updateInterval, 1)} seconds`,
      `Leap status     : ${t.leap}`,
    ].join("\n") + "\n"
  );
}

/**
 * The same report in chronyc's CSV mode (`-c`): print_report drops the text between fields
 * and every sign and width, prints %O and %F as plain %.9f / %.3f, %T as seconds since the
 * epoch (UTI_TimespecToString, nine decimals), and addresses without DNS.
 */
function csv(t: Tracking): string {
  const fields = [
    refId(t),
    t.ip ?? "",
    String(t.stratum),
    `${t.refTimeS}.000000000`,
    t.correction.toFixed(9),
    t.lastOffset.toFixed(9),
    t.rmsOffset.toFixed(9),
    t.freqPpm.toFixed(3),
    t.residFreqPpm.toFixed(3),
    t.skewPpm.toFixed(3),
    t.rootDelay.toFixed(9),
    t.rootDispersion.toFixed(9),
    t.updateInterval.toFixed(1),
    t.leap,
  ];
  return `${fields.join(",")}\n`;
}

function refId(t: Tracking): string {
  return t.refId.toString(16).toUpperCase().padStart(8, "0");
}

// strftime "%a %b %d %T %Y" in UTC.
function utcDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()]!;
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()]!;
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${day} ${month} ${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}
