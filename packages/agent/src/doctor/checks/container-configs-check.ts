import path from "node:path";
import { unparsedLines } from "../../node/container-config.js";
import { fail, pass, type DoctorCheck } from "../check.js";

const CONFIG = /^([1-9]\d*)\.conf$/;
// Enough of them to find the files; the count says how many more there are.
const SHOWN = 3;

/**
 * Every container config of this node (`/etc/pve/lxc`), read through the agent's /etc/pve port,
 * holds only lines the agent's parser understands: no unknown section (whose lines the parser
 * would leave in the section before it), no line that is neither description nor `key: value`.
 */
export const containerConfigsCheck: DoctorCheck = {
  id: "container-configs",
  title: "container configs parsed",
  async run(ctx) {
    const dir = ctx.paths.configDir;
    const files = ((await ctx.clusterFs.listDir(dir)) ?? [])
      .filter((name) => CONFIG.test(name))
      .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    const problems: string[] = [];
    for (const file of files) {
      const text = await ctx.clusterFs.readFile(path.join(dir, file));
      // Gone since the listing (destroyed, migrated away): nothing of it to parse.
      if (text === null) continue;
      for (const line of unparsedLines(text))
        problems.push(
          `${file} line ${line.line}: ${line.unknownSection ? "unknown section" : "not understood"} ${JSON.stringify(line.text)}`,
        );
    }
    if (problems.length > 0)
      return fail(
        `${problems.length} line${problems.length === 1 ? "" : "s"} not understood: ${problems.slice(0, SHOWN).join("; ")}${problems.length > SHOWN ? "; ..." : ""}`,
      );
    return pass(`${files.length} config${files.length === 1 ? "" : "s"} in ${dir}, every line understood`);
  },
};
