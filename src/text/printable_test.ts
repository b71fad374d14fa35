import { assertEquals } from "../testing/asserts.ts";
import { printable } from "./printable.ts";

Deno.test("printable() escapes control and bidi characters and keeps the rest", () => {
  assertEquals(printable("plain/ä.txt"), "plain/ä.txt");
  assertEquals(printable("a\nb\tc"), "a\\nb\\tc");
  assertEquals(printable("\x1b[31mred"), "\\u{1b}[31mred");
  assertEquals(printable("evil\u202etxt.exe"), "evil\\u{202e}txt.exe");
});

Deno.test("printable() shows each byte of a name that is not UTF-8 as \\xHH", () => {
  // "caf" + 0xE9 and 0xFF as the platform's byte names hold them; U+1F080 is a pair, kept.
  assertEquals(printable("caf\udce9/\udcff \u{1F080}"), "caf\\xE9/\\xFF \u{1F080}");
});
