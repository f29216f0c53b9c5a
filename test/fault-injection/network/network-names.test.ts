import test from "ava";
import { NetworkError } from "./network-error.js";
import {
  checkHostName,
  namespaceName,
  parseNamespaceName,
  parseRootLinkName,
  portName,
  rootLinkName,
} from "./network-names.js";

const RUN = { token: "0a1b2c3d", pid: 4242, start: "5811482" };

test("a namespace name carries its run and role, and reads back", (t) => {
  const name = namespaceName(RUN, "api1");
  t.is(name, "lsnet-0a1b2c3d-4242-5811482-api1");
  t.deepEqual(parseNamespaceName(name), { run: RUN, role: "api1" });
});

test("names that are not the toolkit's are not taken for stale runs", (t) => {
  for (const name of [
    "lsnproto-a",
    "lsnet-0a1b2c3d-4242-api1",
    "lsnet-0A1B2C3D-4242-5811482-a",
    "cni-1234",
    "lsnet-0a1b2c3d-4242-5811482-",
  ])
    t.is(parseNamespaceName(name), null, name);
  t.is(parseRootLinkName("eth0"), null);
  t.is(parseRootLinkName("lsnet0a1b2c3d0"), null);
});

test("a root link name fits an interface name and reads back", (t) => {
  const link = rootLinkName(RUN.token);
  t.true(link.length <= 15);
  t.is(parseRootLinkName(link), RUN.token);
});

test("the longest host name still makes a bridge port name of at most 15 characters", (t) => {
  checkHostName("a123456789012");
  t.is(portName("a123456789012").length, 15);
});

test("host names that cannot name a port, or are reserved, are refused", (t) => {
  for (const host of ["", "A", "1a", "a-b", "a.b", "a123456789abcd", "root", "bridge"]) {
    const err = t.throws(() => checkHostName(host), { instanceOf: NetworkError }, host);
    t.is(err?.code, "BAD_INPUT");
  }
});
