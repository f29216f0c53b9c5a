import test from "ava";
import { canonicalJson, fingerprintOf } from "../../src/dedup/index.js";

test("the fingerprint is a hex SHA-256", (t) => {
  t.regex(fingerprintOf({ vmid: 101 }), /^[0-9a-f]{64}$/);
});

test("key order does not change the fingerprint, at any depth", (t) => {
  t.is(
    fingerprintOf({ vmid: 101, set: { memory: "512", cores: 2 } }),
    fingerprintOf({ set: { cores: 2, memory: "512" }, vmid: 101 }),
  );
});

test("the request ID is not part of the fingerprint", (t) => {
  t.is(
    fingerprintOf({ requestId: "req-a-000001", vmid: 101 }),
    fingerprintOf({ requestId: "req-b-000002", vmid: 101 }),
  );
  t.is(fingerprintOf({ request_id: "req-a-000001", vmid: 101 }), fingerprintOf({ vmid: 101 }));
});

test("a different value, array order or byte content changes the fingerprint", (t) => {
  t.not(fingerprintOf({ vmid: 101 }), fingerprintOf({ vmid: 102 }));
  t.not(fingerprintOf({ argv: ["a", "b"] }), fingerprintOf({ argv: ["b", "a"] }));
  t.not(fingerprintOf({ content: Buffer.from("one") }), fingerprintOf({ content: Buffer.from("two") }));
  t.not(fingerprintOf({ vmid: 101 }), fingerprintOf({ vmid: "101" }));
});

test("the canonical form is sorted, compact JSON without undefined members", (t) => {
  t.is(
    canonicalJson({ b: [1, undefined], a: { d: undefined, c: null }, e: new Uint8Array([1, 2]) }),
    '{"a":{"c":null},"b":[1,null],"e":{"bytes":"AQI="}}',
  );
});

test("values JSON would mangle are refused instead of fingerprinted", (t) => {
  t.throws(() => fingerprintOf({ n: Number.NaN }), { instanceOf: TypeError });
  t.throws(() => fingerprintOf({ m: new Map([["a", 1]]) }), { instanceOf: TypeError });
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  t.throws(() => fingerprintOf(cycle), { instanceOf: TypeError, message: /cycle/ });
});
