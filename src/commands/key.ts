import {
  type Command,
  expectPositionals,
  openRepository,
  printable,
  readNewPassword,
  UsageError,
} from "../cli/mod.ts";
import { addKey, changePassword, listKeys, removeKey } from "../repo/mod.ts";

const ACTIONS = ["list", "add", "remove", "passwd"] as const;

/** `cairn key list|add|remove|passwd`: the passwords that open a repository. */
export const keyCommand: Command = {
  name: "key",
  summary: "list, add or remove the passwords that open the repository, or change one",
  usage: "cairn key list | add | remove ID | passwd [--new-password-file FILE] [--json]",
  description: [
    "Each password has its own key file; all of them open the same repository, and",
    "none of these rewrites any data. add: a new password. passwd: change the password",
    "the repository was opened with (the new key is written before the old one goes).",
    "remove ID: remove a key by its id or a unique prefix; the key in use and the last",
    "key are refused. The new password comes from --new-password-file or, on a",
    "terminal, is asked for twice. A new key takes the Argon2 settings of the key in use.",
  ].join("\n"),
  usesRepository: true,
  options: {
    "new-password-file": {
      type: "string",
      arg: "FILE",
      description: "add, passwd: read the new password from FILE",
    },
    host: { type: "string", arg: "NAME", description: "add, passwd: host to record in the key" },
    user: { type: "string", arg: "NAME", description: "add, passwd: user to record in the key" },
  },
  async run(ctx) {
    const action = ctx.positionals[0];
    if (!ACTIONS.includes(action as typeof ACTIONS[number])) {
      throw new UsageError(
        `cairn key: expected ${ACTIONS.join(", ")}, not "${printable(action ?? "")}"`,
      );
    }
    expectPositionals(this, ctx.positionals, action === "remove" ? 2 : 1);
    const adding = action === "add" || action === "passwd";
    // A new-password file is read first: one that cannot be read fails before any key is tried.
    const early = adding && typeof ctx.flags["new-password-file"] === "string"
      ? await readNewPassword(ctx)
      : undefined;
    const repo = await openRepository(ctx);
    const json = ctx.flags.json === true;
    const meta = {
      host: typeof ctx.flags.host === "string" ? ctx.flags.host : Deno.hostname(),
      username: typeof ctx.flags.user === "string" ? ctx.flags.user : (ctx.env.USER ?? ""),
    };
    const out = ctx.output;
    if (action === "list") {
      const keys = await listKeys(repo);
      if (json) out.out(JSON.stringify(keys));
      else {
        out.out(`${"".padEnd(2)}${"ID".padEnd(14)}${"USER".padEnd(12)}${"HOST".padEnd(20)}CREATED`);
        for (const k of keys) {
          out.out(
            `${k.current ? "* " : "  "}${k.id.slice(0, 12).padEnd(14)}${
              printable(k.username).padEnd(12)
            }${printable(k.host).padEnd(20)}${
              k.error ? `unusable: ${printable(k.error)}` : k.created
            }`,
          );
        }
      }
      return 0;
    }
    if (action === "remove") {
      const id = await removeKey(repo, ctx.positionals[1]);
      if (json) out.out(JSON.stringify({ removed: id }));
      else out.out(`removed key ${id.slice(0, 12)}`);
      return 0;
    }
    const password = early ?? await readNewPassword(ctx);
    if (action === "add") {
      const id = await addKey(repo, password, meta);
      if (json) out.out(JSON.stringify({ added: id }));
      else out.out(`added key ${id.slice(0, 12)}`);
      return 0;
    }
    const r = await changePassword(repo, password, meta);
    if (json) out.out(JSON.stringify(r));
    else {out.out(
        `changed the password: key ${r.added.slice(0, 12)} replaces ${r.removed.slice(0, 12)}`,
      );}
    return 0;
  },
};
