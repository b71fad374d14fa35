import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { PathGlob } from "./path_glob.ts";

Deno.test("PathGlob matches names without '/' and whole paths with one", () => {
  const byName = new PathGlob("*.txt");
  assertEquals(byName.byName, true);
  assertEquals(byName.matches("/a/b/c.txt", "c.txt"), true);
  assertEquals(byName.matches("/a/.hidden.txt", ".hidden.txt"), true);
  assertEquals(byName.matches("/a.txt/b", "b"), false);
  const byPath = new PathGlob("/home/*/notes.txt");
  assertEquals(byPath.matches("/home/ann/notes.txt", "notes.txt"), true);
  assertEquals(byPath.matches("/home/ann/x/notes.txt", "notes.txt"), false);
  assertEquals(new PathGlob("home/**").matches("/home/ann/x", "x"), true);
  assertEquals(new PathGlob("/etc/").matches("/etc", "etc"), true);
  assertThrows(() => new PathGlob(" "), TypeError);
});

Deno.test("PathGlob.mayContain() rules out subtrees away from the glob's literal start", () => {
  const g = new PathGlob("/home/ann/*.txt");
  assertEquals(["/", "/home", "/home/ann", "/home/ann/sub"].map((d) => g.mayContain(d)), [
    true,
    true,
    true,
    true,
  ]);
  assertEquals(["/etc", "/home/bob", "/home/anna"].map((d) => g.mayContain(d)), [
    false,
    false,
    false,
  ]);
  assertEquals(new PathGlob("**/x").mayContain("/anything"), true);
  assertEquals(new PathGlob("x").mayContain("/anything"), true);
});
