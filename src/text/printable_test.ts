import { assertEquals } from "../testing/asserts.ts";
import { printable } from "./printable.ts";

Deno.test("printable() escapes control and bidi characters and keeps the rest", () => {
  assertEquals(printable("plain/ä.txt"), "plain/ä.txt");
  assertEquals(printable("a\nb\tc"), "a\\nb\\tc");
  assertEquals(printable("\x1b[31mred"), "\\u{1b}[31mred");
  assertEquals(printable("evil\u202etxt.exe"), "evil\\u{202e}txt.exe");
});
