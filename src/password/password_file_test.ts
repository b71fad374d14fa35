import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { PasswordFileError, passwordFromText, readPasswordFile } from "./password_file.ts";

Deno.test("passwordFromText() drops leading and trailing whitespace, as restic does", () => {
  assertEquals(passwordFromText("secret\n"), "secret");
  assertEquals(passwordFromText("secret\r\n\n\n"), "secret");
  assertEquals(passwordFromText("\ufeff  secret \t\n"), "secret");
  assertEquals(passwordFromText("two words\nsecond line\n"), "two words\nsecond line");
  assertEquals(passwordFromText("\n"), "");
});

Deno.test("readPasswordFile() reads by that rule and names a file it cannot read", () => {
  const dir = Deno.makeTempDirSync({ prefix: "cairn-pw-" });
  try {
    Deno.writeTextFileSync(`${dir}/pw`, "hunter2\n\n");
    assertEquals(readPasswordFile(`${dir}/pw`), "hunter2");
    const err = assertThrows(() => readPasswordFile(`${dir}/missing`), PasswordFileError);
    assertEquals(err.message.startsWith(`Cannot read password file ${dir}/missing: `), true);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
