import { assertEquals } from "../testing/asserts.ts";
import { KeyLocator } from "./_locate.ts";

Deno.test("KeyLocator handles one key of 200,000 dotted parts and a line of 500,000 spaces", () => {
  // Neither finished before: all prefixes of the key were kept as joined
  // strings (quadratic: a V8 out-of-memory crash at this size), and the
  // header patterns backtracked over the spaces (cubic: 39 s for 4,000).
  const parts = 200_000;
  const key = Array.from({ length: parts }, () => "a").join(".");
  const loc = new KeyLocator(
    `x = 1\n${key} = 1\n[${" ".repeat(500_000)}\n[[${" ".repeat(500_000)}\n`,
  );
  const path = Array.from({ length: parts }, () => "a");
  assertEquals(loc.find(path), 2);
  assertEquals(loc.find([...path, "b"]), 2);
  assertEquals(loc.find(["a", "a", "b"]), 2, "the nearest enclosing key");
  assertEquals(loc.find(["x"]), 1);

  // And it still finds what real job files contain.
  const real = new KeyLocator(
    [
      `state_dir = "/s"`, // 1
      "[repository.main]", // 2
      `path = "/r"`, // 3
      "[[job]]", // 4
      `name = "a"`, // 5
      "keep.daily = 1", // 6
      "[[job]]", // 7
      `name = "b"`, // 8
      `mirror = { path = "/m", purge = false }`, // 9
      `[job.keep]`, // 10
      `last = 2`, // 11
      `note = """`, // 12
      `paths = ["not a key"]`, // 13
      `"""`, // 14
    ].join("\n"),
  );
  assertEquals(real.find(["state_dir"]), 1);
  assertEquals(real.find(["repository", "main", "path"]), 3);
  assertEquals(real.find(["job", 0]), 4);
  assertEquals(real.find(["job", 0, "keep", "daily"]), 6);
  assertEquals(real.find(["job", 0, "keep"]), 6);
  assertEquals(real.find(["job", 1, "name"]), 8);
  assertEquals(real.find(["job", 1, "mirror", "purge"]), 9);
  assertEquals(
    real.find(["job", 1, "keep", "last"]),
    11,
    "a [table] below [[job]] is the last job's",
  );
  assertEquals(real.find(["job", 1, "paths"]), 7, "not inside a multi-line string");
  assertEquals(real.find(["job", 1, "nope", "deeper"]), 7, "falls back to the enclosing table");
  assertEquals(real.find(["nope"]), undefined);
});
