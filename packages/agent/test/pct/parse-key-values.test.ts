import test from "ava";
import { parseKeyValues, parseStatus } from "../../src/pct/parse-key-values.js";
import { parseContainerConfig, parseTags } from "../../src/node/container-config.js";

test("pct config lines become a map with the description decoded", (t) => {
  const values = parseKeyValues(
    "arch: amd64\ndescription: owner%3A lockstep%0Aline two\nhostname: web-1\nlock: create\n",
  );
  t.deepEqual(values, { arch: "amd64", description: "owner: lockstep\nline two", hostname: "web-1", lock: "create" });
});

test("pct status reads running and stopped and refuses anything else", (t) => {
  t.is(parseStatus("status: running\n"), "running");
  t.is(parseStatus("status: stopped\n"), "stopped");
  t.throws(() => parseStatus("status: paused\n"));
});

test("a config file's main section excludes snapshot sections", (t) => {
  const config = parseContainerConfig(
    "#managed%20by lockstep\narch: amd64\nparent: snap1\n\n[snap1]\narch: amd64\nlock: snapshot\nsnaptime: 1700000000\n",
  );
  t.deepEqual(config.main.values, { arch: "amd64", parent: "snap1" });
  t.is(config.main.description, "managed by lockstep");
  t.deepEqual(config.snapshots.get("snap1")?.values, { arch: "amd64", lock: "snapshot", snaptime: "1700000000" });
});

test("tags split on Proxmox's separators", (t) => {
  t.deepEqual(parseTags("lockstep;ct-abc,web"), ["lockstep", "ct-abc", "web"]);
  t.deepEqual(parseTags(undefined), []);
});
