/**
 * restore --exclude-xattr / --include-xattr (restic's options): which
 * extended attributes come back, by name, and the usage error for both.
 */
import { assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, testRepo } from "./_launcher.ts";

const HAS_ATTR = ["setfattr", "getfattr"].every((t) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${t}`], stdout: "null" }).outputSync().success
);

function sh(cmd: string, ...args: string[]): string {
  const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!out.success) throw new Error(`${cmd}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** The user.* attribute names getfattr shows on `path`, sorted. */
function userXattrs(path: string): string[] {
  return sh("getfattr", "--absolute-names", "-m", "^user\\.", path)
    .split("\n").filter((l) => l.startsWith("user.")).sort();
}

Deno.test({
  name: "restore --exclude-xattr and --include-xattr pick the attributes by name",
  ignore: !HAS_ATTR,
  async fn() {
    await using t = await testRepo();
    const file = `${t.src}/f.txt`;
    await Deno.writeTextFile(file, "data\n");
    sh("setfattr", "-n", "user.keep", "-v", "1", file);
    sh("setfattr", "-n", "user.drop.me", "-v", "2", file);
    sh("setfattr", "-n", "user.other", "-v", "3", file);
    await t.backup();
    const restored = async (name: string, ...args: string[]) => {
      const target = `${t.dir}/${name}`;
      const r = await cairn(["restore", "latest", "--target", target, ...args], { env: t.env });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(await Deno.readTextFile(`${target}${file}`), "data\n");
      return userXattrs(`${target}${file}`);
    };
    assertEquals(await restored("all"), ["user.drop.me", "user.keep", "user.other"]);
    assertEquals(await restored("ex", "--exclude-xattr", "user.drop*"), [
      "user.keep",
      "user.other",
    ]);
    assertEquals(
      await restored("in", "--include-xattr", "user.keep", "--include-xattr", "user.o*"),
      ["user.keep", "user.other"],
    );
    const both = await cairn([
      "restore",
      "latest",
      "--target",
      `${t.dir}/both`,
      "--exclude-xattr",
      "user.a",
      "--include-xattr",
      "user.b",
    ], { env: t.env });
    assertEquals(both.code, 2);
    assertStringIncludes(both.stderr, "--exclude-xattr and --include-xattr do not combine");
    assertEquals(both.stderr.trim().split("\n").length, 1, both.stderr);
  },
});
