import test from "ava";
import { NetworkError } from "./network-error.js";
import { chooseSubnet } from "./subnet-choice.js";

/** A random source that answers the given values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

test("a subnet is a /24 of 10.200.0.0 to 10.249.255.0", (t) => {
  t.is(chooseSubnet([], sequence(0, 0)), "10.200.0");
  t.is(chooseSubnet([], sequence(0.999, 0.999)), "10.249.255");
});

test("a subnet that a route of the machine covers, or that covers one, is passed over", (t) => {
  // 10.200.0 is someone's /24, 10.201.x is inside someone's /16, 10.202.3.0/24 holds a host route.
  const routes = ["default", "10.200.0.0/24", "10.201.0.0/16", "10.202.3.9", "192.0.2.0/24"];
  t.is(chooseSubnet(routes, sequence(0, 0, 0.02, 0.5, 0.04, 3 / 256, 0.04, 4 / 256)), "10.202.4");
});

test("the default route does not count as taking every subnet", (t) => {
  t.is(chooseSubnet(["default", "0.0.0.0/0"], sequence(0.5, 0.5)), "10.225.128");
});

test("when every subnet is taken the choice fails with a clear error", (t) => {
  const err = t.throws(() => chooseSubnet(["10.0.0.0/8"]), {
    instanceOf: NetworkError,
    message: /no free \/24 found in 10\.200\.0\.0-10\.249\.255\.0/,
  });
  t.is(err?.code, "UNSUPPORTED");
});

test("a route that is no IPv4 CIDR is refused by name", (t) => {
  t.throws(() => chooseSubnet(["10.1.2"]), {
    instanceOf: NetworkError,
    message: "'10.1.2' is not an IPv4 address or CIDR",
  });
});
