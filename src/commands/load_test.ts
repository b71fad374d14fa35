import { assert, assertEquals } from "../testing/asserts.ts";
import { COMMANDS } from "./mod.ts";
import { commandsFor, LOADED_ALONE } from "./load.ts";

Deno.test("commandsFor() loads each listed command alone, the same object the table holds", async () => {
  for (const name of LOADED_ALONE) {
    const got = await commandsFor(name);
    assertEquals(got.length, 1, name);
    assert(got[0] === COMMANDS.find((c) => c.name === name), `${name}: not the table's object`);
  }
});

Deno.test("commandsFor() gives the whole table for help, a typo, a job command and odd names", async () => {
  const names = [
    undefined,
    "help",
    "--help",
    "backpu",
    "run",
    "completion",
    "constructor",
    "__proto__",
  ];
  for (const name of names) {
    assert((await commandsFor(name)) === COMMANDS, `${name}: not the whole table`);
  }
});
