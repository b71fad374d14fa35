import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { escapeLabelValue, renderExposition } from "./exposition.ts";

Deno.test("escapeLabelValue() escapes backslash, quote and newline and nothing else", () => {
  assertEquals(escapeLabelValue('a\\b"c\nd}e,f'), 'a\\\\b\\"c\\nd}e,f');
});

Deno.test("renderExposition() writes HELP, TYPE and one line per sample", () => {
  const text = renderExposition([{
    name: "x_seconds",
    help: "line one\nline two \\",
    type: "gauge",
    samples: [
      { labels: { host: 'h"1', job: "j\n" }, value: 1.5 },
      { labels: {}, value: NaN },
      { labels: { a: "" }, value: -Infinity },
    ],
  }]);
  assertEquals(
    text,
    [
      "# HELP x_seconds line one\\nline two \\\\",
      "# TYPE x_seconds gauge",
      'x_seconds{host="h\\"1",job="j\\n"} 1.5',
      "x_seconds NaN",
      'x_seconds{a=""} -Inf',
      "",
    ].join("\n"),
  );
});

Deno.test("renderExposition() refuses invalid metric and label names", () => {
  assertThrows(() => renderExposition([{ name: "a-b", help: "", type: "gauge", samples: [] }]));
  assertThrows(() =>
    renderExposition([{
      name: "ab",
      help: "",
      type: "gauge",
      samples: [{ labels: { "x y": "1" }, value: 1 }],
    }])
  );
});
