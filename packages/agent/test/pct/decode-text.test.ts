import test from "ava";
import { decodeText } from "../../src/pct/decode-text.js";

// PVE::ParseUtils decode_text: Encode::decode("utf8", uri_unescape($data)).
test("escaped UTF-8 bytes decode to their characters, as Proxmox's decode_text reads a description", (t) => {
  t.is(decodeText("Caf%C3%A9%3A 100%25 ok%0Aline two"), "Café: 100% ok\nline two");
});

test("a '%' without two hex digits after it stays as it is", (t) => {
  t.is(decodeText("50% off, %zz and a trailing %4"), "50% off, %zz and a trailing %4");
});

test("bytes that are not UTF-8 become the replacement character rather than other characters", (t) => {
  t.is(decodeText("a%FFb"), "a\uFFFDb");
});
