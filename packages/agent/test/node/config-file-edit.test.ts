import test from "ava";
import { editMainSection } from "../../src/node/config-file-edit.js";

const withSnapshot =
  "#web server\narch: amd64\nhostname: web-1\nparent: base\n\n[base]\narch: amd64\nhostname: web-1\nsnaptime: 1700000000\n";

test("a new key goes at the end of the main section, before the first snapshot; nothing else moves", (t) => {
  t.is(
    editMainSection(withSnapshot, { "lxc.apparmor.profile": "unconfined" }, []),
    "#web server\narch: amd64\nhostname: web-1\nparent: base\nlxc.apparmor.profile: unconfined\n\n[base]\narch: amd64\nhostname: web-1\nsnaptime: 1700000000\n",
  );
});

test("an existing key is replaced in place, only in the main section", (t) => {
  const text = "arch: amd64\nlxc.apparmor.profile: generated\nmemory: 512\n\n[s1]\nlxc.apparmor.profile: generated\n";
  t.is(
    editMainSection(text, { "lxc.apparmor.profile": "unconfined" }, []),
    "arch: amd64\nlxc.apparmor.profile: unconfined\nmemory: 512\n\n[s1]\nlxc.apparmor.profile: generated\n",
  );
});

test("a removed key leaves the main section; its repeats too", (t) => {
  const text = "arch: amd64\nlxc.apparmor.profile: a\nlxc.apparmor.profile = b\n\n[s1]\nlxc.apparmor.profile: a\n";
  t.is(editMainSection(text, {}, ["lxc.apparmor.profile"]), "arch: amd64\n\n[s1]\nlxc.apparmor.profile: a\n");
});

test("a config without snapshots gains the key as its last line", (t) => {
  t.is(
    editMainSection("arch: amd64\nmemory: 512\n", { "lxc.apparmor.profile": "unconfined" }, []),
    "arch: amd64\nmemory: 512\nlxc.apparmor.profile: unconfined\n",
  );
});
